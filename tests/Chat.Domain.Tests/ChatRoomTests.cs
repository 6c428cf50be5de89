using Chat.Domain.Messages;
using Chat.Domain.Rooms;
using Chat.Domain.Users;

namespace Chat.Domain.Tests;

public sealed class ChatRoomTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private readonly ChatRoom room = new(RoomId.Create("general"), Now);
    private long nextConnection;

    [Fact]
    public void Joining_adds_the_member_and_reports_who_is_present()
    {
        var alice = NewUser("alice");
        var bob = NewUser("bob");
        Assert.Equal(JoinOutcome.Joined, room.Join(alice, out _, Now));
        Assert.Equal(JoinOutcome.Joined, room.Join(bob, out var joined, Now));

        Assert.Equal([alice, bob], room.Members);
        Assert.Equal(["alice", "bob"], joined!.Present.Select(n => n.Value));
        Assert.Same(room, bob.Room);
        Assert.Equal(2, room.JoinCount);
    }

    [Fact]
    public void A_name_already_present_is_refused_whatever_its_case()
    {
        room.Join(NewUser("Alice"), out _, Now);
        Assert.Equal(JoinOutcome.NameTaken, room.Join(NewUser("ALICE"), out var joined, Now));
        Assert.Null(joined);
        Assert.Equal(1, room.MemberCount);
    }

    [Fact]
    public void A_user_cannot_be_in_two_rooms()
    {
        var alice = NewUser("alice");
        room.Join(alice, out _, Now);
        var other = new ChatRoom(RoomId.Create("other"), Now);
        Assert.Equal(JoinOutcome.AlreadyInRoom, other.Join(alice, out _, Now));
    }

    [Fact]
    public void Leaving_removes_the_member_and_frees_the_name()
    {
        var alice = NewUser("alice");
        room.Join(alice, out _, Now);
        var left = room.Leave(alice, Now);

        Assert.Equal("alice", left!.User.Value);
        Assert.Empty(room.Members);
        Assert.Null(alice.Room);
        Assert.Null(room.Leave(alice, Now));
        Assert.Equal(JoinOutcome.Joined, room.Join(NewUser("alice"), out _, Now));
    }

    [Fact]
    public void Only_members_post_and_each_post_is_counted()
    {
        var alice = NewUser("alice");
        room.Join(alice, out _, Now);
        var message = room.Post(alice, MessageText.Create("hi"), Now);

        Assert.Equal(new ChatMessage(room.Id, alice.Name, "hi", Now), message);
        Assert.Null(room.Post(NewUser("stranger"), MessageText.Create("hi"), Now));
        Assert.Equal(1, room.MessageCount);
    }

    [Fact]
    public void Only_an_empty_room_closes_and_a_closed_room_takes_nobody()
    {
        var alice = NewUser("alice");
        room.Join(alice, out _, Now);
        Assert.False(room.TryClose());
        room.Leave(alice, Now);
        Assert.True(room.TryClose());
        Assert.Equal(JoinOutcome.RoomClosed, room.Join(NewUser("bob"), out _, Now));
    }

    [Fact]
    public void Concurrent_joins_and_leaves_keep_names_unique_and_members_consistent()
    {
        var users = Enumerable.Range(0, 400).Select(i => NewUser($"user{i % 100}")).ToArray();
        Parallel.ForEach(users, user =>
        {
            if (room.Join(user, out _, Now) == JoinOutcome.Joined && user.Connection.Value % 2 == 0)
            {
                room.Leave(user, Now);
            }
        });

        var names = room.Members.Select(m => m.Name).ToArray();
        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.All(room.Members, m => Assert.Same(room, m.Room));
        Assert.All(users.Where(u => !room.Members.Contains(u)), u => Assert.Null(u.Room));
    }

    [Fact]
    public void Room_ids_are_lower_case_and_limited()
    {
        Assert.Equal("lobby-1", RoomId.Create("Lobby-1").Value);
        Assert.False(RoomId.TryCreate("no spaces", out _));
        Assert.False(RoomId.TryCreate(new string('a', 65), out _));
        Assert.False(RoomId.TryCreate("", out _));
    }

    private User NewUser(string name) => new(new ConnectionId(++nextConnection), UserName.Create(name), Now);
}

using Chat.Application.Abstractions;
using System.Text;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using Chat.Infrastructure.Protocol;

namespace Chat.Infrastructure.Tests;

public sealed class ChatEventSerializerTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeMilliseconds(1_732_441_369_120);
    private static readonly RoomId General = RoomId.Create("general");

    [Fact]
    public void A_chat_message_has_the_original_fields_in_snake_case()
    {
        var frame = ChatEventSerializer.Serialize(new ChatMessage(General, UserName.Create("alice"), "hi <b>", At));
        Assert.Equal(
            """{"type":"chat_message","user_name":"alice","message":"hi \u003Cb\u003E","timestamp":1732441369.120}""",
            Encoding.UTF8.GetString(frame));
    }

    [Fact]
    public void Join_and_leave_notices_say_who_in_words()
    {
        var alice = new User(new ConnectionId(1), UserName.Create("alice"), At);
        var joined = Encoding.UTF8.GetString(ChatEventSerializer.Serialize(new UserJoined(General, alice, [alice.Name], At)));
        var left = Encoding.UTF8.GetString(ChatEventSerializer.Serialize(new UserLeft(General, alice.Name, At)));

        Assert.Equal("""{"type":"user_joined","user_name":"alice","message":"alice joined the chat","timestamp":1732441369.120}""", joined);
        Assert.Equal("""{"type":"user_left","user_name":"alice","message":"alice left the chat","timestamp":1732441369.120}""", left);
    }

    [Fact]
    public void A_typing_event_says_who_and_carries_no_message()
    {
        var alice = new User(new ConnectionId(1), UserName.Create("alice"), At);
        Assert.Equal(
            """{"type":"typing","user_name":"alice","timestamp":1732441369.120}""",
            Encoding.UTF8.GetString(ChatEventSerializer.Serialize(new UserTyping(General, alice, At))));
    }

    [Theory]
    [InlineData(null, ClientFeatures.None)]
    [InlineData("", ClientFeatures.None)]
    [InlineData("typing", ClientFeatures.Typing)]
    [InlineData("reactions, Typing", ClientFeatures.Typing)]
    [InlineData("typos", ClientFeatures.None)]
    public void Features_a_client_asks_for_are_read_and_unknown_ones_ignored(string? list, ClientFeatures expected)
    {
        Assert.Equal(expected, ClientFeaturesParser.Parse(list));
    }

    [Fact]
    public void The_newcomers_own_notice_lists_the_room()
    {
        var bob = new User(new ConnectionId(2), UserName.Create("bob"), At);
        var welcome = Encoding.UTF8.GetString(ChatEventSerializer.SerializeWelcome(
            new UserJoined(General, bob, [UserName.Create("alice"), bob.Name], At), new RoomWelcome("e1", "t0k", [])));
        Assert.Equal(
            """{"type":"user_joined","user_name":"bob","message":"bob joined the chat","timestamp":1732441369.120,"room_id":"general","users":["alice","bob"],"epoch":"e1","resume_token":"t0k"}""",
            welcome);
    }

    [Fact]
    public void A_resuming_newcomer_is_told_whether_it_recovered_and_history_is_marked()
    {
        var bob = new User(new ConnectionId(2), UserName.Create("bob"), At);
        var welcome = Encoding.UTF8.GetString(ChatEventSerializer.SerializeWelcome(
            new UserJoined(General, bob, [bob.Name], At), new RoomWelcome("e1", "t0k", [], Recovered: false)));
        Assert.Contains("\"recovered\":false", welcome, StringComparison.Ordinal);

        var history = Encoding.UTF8.GetString(ChatEventSerializer.SerializeHistory(
            new HistoryMessage(General, 7, "alice", "hi", At)));
        Assert.Equal(
            """{"type":"chat_message","user_name":"alice","message":"hi","timestamp":1732441369.120,"id":7,"history":true}""",
            history);
    }

    [Fact]
    public void An_error_carries_no_user_name()
    {
        Assert.Equal(
            """{"type":"error","message":"nope","timestamp":1732441369.000}""",
            Encoding.UTF8.GetString(ChatEventSerializer.SerializeError("nope", DateTimeOffset.FromUnixTimeSeconds(1_732_441_369))));
    }

    [Fact]
    public void The_pacing_notice_is_an_error_with_a_code_that_says_nothing_was_refused()
    {
        Assert.Equal(
            """{"type":"error","message":"Slow down","timestamp":1732441369.000,"code":"paced"}""",
            Encoding.UTF8.GetString(ChatEventSerializer.SerializePacingNotice("Slow down", DateTimeOffset.FromUnixTimeSeconds(1_732_441_369))));
    }
}

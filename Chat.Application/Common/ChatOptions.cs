using Chat.Domain.Messages;
using Chat.Domain.Rooms;
using Chat.Domain.Users;

namespace Chat.Application.Common;

/// <summary>The chat's rules, bound from the "Chat" configuration section.</summary>
public sealed class ChatOptions
{
    public const string SectionName = "Chat";

    /// <summary>Longest user name, in visible characters.</summary>
    public int MaxUserNameLength { get; set; } = UserName.DefaultMaxLength;

    /// <summary>Longest message, in visible characters.</summary>
    public int MaxMessageLength { get; set; } = MessageText.DefaultMaxLength;

    /// <summary>The room that <c>/ws/{username}</c> joins when no room is named.</summary>
    public string DefaultRoom { get; set; } = "general";

    internal RoomId DefaultRoomId => RoomId.Create(DefaultRoom);
}

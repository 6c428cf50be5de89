using Chat.Application.Common;
using Microsoft.Extensions.Options;

namespace Chat.Application.Tests;

internal static class Builders
{
    public static IOptions<ChatOptions> Options(int maxUserName = 20, int maxMessage = 1000, string defaultRoom = "general") =>
        Microsoft.Extensions.Options.Options.Create(new ChatOptions
        {
            MaxUserNameLength = maxUserName,
            MaxMessageLength = maxMessage,
            DefaultRoom = defaultRoom,
        });
}

using Chat.Domain.Rooms;
using Microsoft.Extensions.Options;

namespace Chat.Application.Common;

/// <summary>Refuses settings the chat cannot run with, at start-up rather than at the first message.</summary>
public sealed class ChatOptionsValidator : IValidateOptions<ChatOptions>
{
    public ValidateOptionsResult Validate(string? name, ChatOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> failures = [];
        if (options.MaxUserNameLength is < 1 or > 100)
        {
            failures.Add($"{ChatOptions.SectionName}:{nameof(options.MaxUserNameLength)} must be between 1 and 100.");
        }

        if (options.MaxMessageLength is < 1 or > 100_000)
        {
            failures.Add($"{ChatOptions.SectionName}:{nameof(options.MaxMessageLength)} must be between 1 and 100000.");
        }

        if (RoomId.Validate(options.DefaultRoom) is { } roomError)
        {
            failures.Add($"{ChatOptions.SectionName}:{nameof(options.DefaultRoom)}: {roomError}");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

using Microsoft.Extensions.Options;

namespace Chat.Application.Common;

/// <summary>Refuses history settings the chat cannot run with, at start-up rather than at the first message.</summary>
public sealed class HistoryOptionsValidator : IValidateOptions<HistoryOptions>
{
    // Beyond these a join or a resume would send more than a client can sensibly take in one go.
    private const int MaxOnJoin = 1000;
    private const int MaxResumeLimit = 100_000;

    public ValidateOptionsResult Validate(string? name, HistoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string section = HistoryOptions.SectionName;
        List<string> failures = [];
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            failures.Add($"{section}:{nameof(options.Path)} must name a file.");
        }

        if (options.OnJoin is < 0 or > MaxOnJoin)
        {
            failures.Add($"{section}:{nameof(options.OnJoin)} must be between 0 and {MaxOnJoin}.");
        }

        if (options.MaxResume is < 0 or > MaxResumeLimit)
        {
            failures.Add($"{section}:{nameof(options.MaxResume)} must be between 0 and {MaxResumeLimit}.");
        }

        if (options.MaxMessagesPerRoom < 1)
        {
            failures.Add($"{section}:{nameof(options.MaxMessagesPerRoom)} must be at least 1.");
        }

        if (options.MaxAge < TimeSpan.FromMinutes(1))
        {
            failures.Add($"{section}:{nameof(options.MaxAge)} must be at least one minute.");
        }

        if (options.PruneInterval < TimeSpan.FromSeconds(1) || options.PruneInterval > TimeSpan.FromDays(1))
        {
            failures.Add($"{section}:{nameof(options.PruneInterval)} must be between one second and one day.");
        }

        if (!Enum.IsDefined(options.Durability))
        {
            failures.Add($"{section}:{nameof(options.Durability)} must be Durable or WriteBehind.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

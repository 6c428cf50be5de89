using Microsoft.Extensions.Options;

namespace Chat.Infrastructure.Redis;

/// <summary>Presence across servers (section <c>Chat:Presence</c>); used only when the servers share Redis.</summary>
public sealed class PresenceOptions
{
    public const string SectionName = "Chat:Presence";

    /// <summary>
    /// How long a server may go unheard before the others announce its users as left and free their names. Each
    /// server renews its liveness every third of this and sweeps for dead servers as often.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);
}

public sealed class PresenceOptionsValidator : IValidateOptions<PresenceOptions>
{
    public ValidateOptionsResult Validate(string? name, PresenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Timeout < TimeSpan.FromSeconds(1) || options.Timeout > TimeSpan.FromMinutes(5)
            ? ValidateOptionsResult.Fail($"{SectionName}:Timeout must be between 1 second and 5 minutes; it is {options.Timeout}.")
            : ValidateOptionsResult.Success;
    }

    private const string SectionName = PresenceOptions.SectionName;
}

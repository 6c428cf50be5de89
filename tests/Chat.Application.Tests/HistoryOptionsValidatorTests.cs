using Chat.Application.Common;

namespace Chat.Application.Tests;

public sealed class HistoryOptionsValidatorTests
{
    private readonly HistoryOptionsValidator validator = new();

    [Fact]
    public void The_defaults_are_valid()
    {
        var options = new HistoryOptions();

        Assert.True(validator.Validate(null, options).Succeeded);
        Assert.Equal(("data/chat.db", 50, 1000, 10_000), (options.Path, options.OnJoin, options.MaxResume, options.MaxMessagesPerRoom));
        Assert.Equal((TimeSpan.FromDays(30), TimeSpan.FromHours(1), HistoryDurability.Durable),
            (options.MaxAge, options.PruneInterval, options.Durability));
    }

    [Fact]
    public void The_limits_themselves_are_valid()
    {
        var options = new HistoryOptions
        {
            OnJoin = 0, MaxResume = 0, MaxMessagesPerRoom = 1, MaxAge = TimeSpan.FromMinutes(1),
            PruneInterval = TimeSpan.FromDays(1), Durability = HistoryDurability.WriteBehind,
        };

        Assert.True(validator.Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData(nameof(HistoryOptions.Path))]
    [InlineData(nameof(HistoryOptions.OnJoin))]
    [InlineData(nameof(HistoryOptions.MaxResume))]
    [InlineData(nameof(HistoryOptions.MaxMessagesPerRoom))]
    [InlineData(nameof(HistoryOptions.MaxAge))]
    [InlineData(nameof(HistoryOptions.PruneInterval))]
    [InlineData(nameof(HistoryOptions.Durability))]
    public void A_setting_out_of_range_is_refused_by_name(string setting)
    {
        var options = new HistoryOptions();
        switch (setting)
        {
            case nameof(HistoryOptions.Path): options.Path = " "; break;
            case nameof(HistoryOptions.OnJoin): options.OnJoin = 1001; break;
            case nameof(HistoryOptions.MaxResume): options.MaxResume = -1; break;
            case nameof(HistoryOptions.MaxMessagesPerRoom): options.MaxMessagesPerRoom = 0; break;
            case nameof(HistoryOptions.MaxAge): options.MaxAge = TimeSpan.FromSeconds(59); break;
            case nameof(HistoryOptions.PruneInterval): options.PruneInterval = TimeSpan.Zero; break;
            case nameof(HistoryOptions.Durability): options.Durability = (HistoryDurability)7; break;
        }

        var result = validator.Validate(null, options);

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith($"Chat:History:{setting} ", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_failure_is_reported_at_once()
    {
        var options = new HistoryOptions { OnJoin = -1, MaxResume = 100_001, PruneInterval = TimeSpan.FromDays(2) };

        Assert.Equal(3, validator.Validate(null, options).Failures!.Count());
    }
}

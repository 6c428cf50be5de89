using Chat.Domain.Users;

namespace Chat.Domain.Tests;

public sealed class UserNameTests
{
    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("  bob  ", "bob")]
    [InlineData("Zoë", "Zoë")]
    [InlineData("e\u0301", "\u00e9")]
    [InlineData("John Doe", "John Doe")]
    public void A_valid_name_is_trimmed_and_normalised(string raw, string expected)
    {
        Assert.True(UserName.TryCreate(raw, 20, out var name, out _));
        Assert.Equal(expected, name.Value);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("\u200b\u200b", "empty")]
    [InlineData("\u3164", "empty")]
    [InlineData("a\u0000b", "control")]
    [InlineData("tab\tname", "control")]
    [InlineData("evil\u202Eeman", "formatting")]
    [InlineData("abcdefghijklmnopqrstu", "at most 20")]
    public void An_invalid_name_is_refused_with_a_reason(string raw, string reason)
    {
        Assert.False(UserName.TryCreate(raw, 20, out _, out var error));
        Assert.Contains(reason, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_lone_surrogate_is_not_valid_text()
    {
        Assert.NotNull(UserName.Validate("a\ud800b"));
    }

    [Fact]
    public void Length_counts_what_a_person_sees()
    {
        var family = "👨‍👩‍👧‍👦";
        Assert.Null(UserName.Validate(string.Concat(Enumerable.Repeat(family, 20))));
        Assert.NotNull(UserName.Validate(string.Concat(Enumerable.Repeat(family, 21))));
    }

    [Fact]
    public void Names_that_differ_only_in_case_or_composition_are_the_same_name()
    {
        Assert.Equal(UserName.Create("ZOË"), UserName.Create("zoe\u0308"));
        Assert.Equal(UserName.Create("Alice").GetHashCode(), UserName.Create("alice").GetHashCode());
    }

    [Fact]
    public void Create_throws_for_input_that_skipped_validation()
    {
        Assert.Throws<ArgumentException>(() => UserName.Create(""));
    }
}

using Chat.Domain.Messages;

namespace Chat.Domain.Tests;

public sealed class MessageTextTests
{
    [Theory]
    [InlineData("hello", "hello")]
    [InlineData("  padded  ", "padded")]
    [InlineData("two\nlines", "two\nlines")]
    [InlineData("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>")]
    public void Valid_text_is_kept_as_written_less_surrounding_space(string raw, string expected)
    {
        Assert.Equal(expected, MessageText.Create(raw).Value);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData(" \n\t ", "empty")]
    [InlineData("bell\u0007", "control")]
    public void Invalid_text_is_refused(string raw, string reason)
    {
        Assert.Contains(reason, MessageText.Validate(raw), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_limit_counts_grapheme_clusters()
    {
        var combining = string.Concat(Enumerable.Repeat("a\u0301\u0302", 1000));
        Assert.Null(MessageText.Validate(combining));
        Assert.NotNull(MessageText.Validate(combining + "b"));
        Assert.Null(MessageText.Validate(new string('x', 10), maxLength: 10));
        Assert.NotNull(MessageText.Validate(new string('x', 11), maxLength: 10));
    }

    [Fact]
    public void Null_is_refused()
    {
        Assert.NotNull(MessageText.Validate(null));
    }
}

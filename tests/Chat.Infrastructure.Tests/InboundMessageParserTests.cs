using System.Text;
using Chat.Infrastructure.Protocol;

namespace Chat.Infrastructure.Tests;

public sealed class InboundMessageParserTests
{
    [Theory]
    [InlineData("""{"message":"hi"}""", "hi")]
    [InlineData("""  {"type":"chat_message","message":"typed"}""", "typed")]
    [InlineData("plain words", "plain words")]
    [InlineData("123", "123")]
    [InlineData("null", "null")]
    [InlineData("""{"message":"\u00e9\n"}""", "é\n")]
    public void Accepted_frames_give_the_text(string frame, string expected)
    {
        Assert.Equal(expected, InboundMessageParser.Parse(Encoding.UTF8.GetBytes(frame), out var typing, out var error));
        Assert.Null(error);
        Assert.False(typing);
    }

    [Theory]
    [InlineData("""{"message":123}""")]
    [InlineData("""{"message":null}""")]
    [InlineData("""{"message":["a"]}""")]
    [InlineData("""{"message":"a","message":"b"}""")]
    [InlineData("""{"message":"a","extra":true}""")]
    [InlineData("""{"type":"shout","message":"a"}""")]
    [InlineData("""{}""")]
    [InlineData("""[{"message":"a"}]""")]
    [InlineData("""{"message":"a"} trailing""")]
    [InlineData("""{"message":"a""")]
    [InlineData("""{"message":"\ud800"}""")]
    [InlineData("""{"type":"typing","message":"secret"}""")]
    [InlineData("""{"message":"secret","type":"typing"}""")]
    [InlineData("""{"type":"typing","extra":1}""")]
    [InlineData("""{"type":"typing"} trailing""")]
    [InlineData("""{"type":"TYPING"}""")]
    public void Refused_frames_give_a_reason(string frame)
    {
        Assert.Null(InboundMessageParser.Parse(Encoding.UTF8.GetBytes(frame), out var typing, out var error));
        Assert.False(string.IsNullOrWhiteSpace(error));
        Assert.False(typing);
    }

    [Theory]
    [InlineData("""{"type":"typing"}""")]
    [InlineData(""" {"type":"typing"} """)]
    public void A_typing_notice_is_recognised_and_carries_no_text(string frame)
    {
        Assert.Null(InboundMessageParser.Parse(Encoding.UTF8.GetBytes(frame), out var typing, out var error));
        Assert.True(typing);
        Assert.Null(error);
    }

    [Fact]
    public void Typing_as_plain_text_is_a_message_like_any_other()
    {
        Assert.Equal("typing", InboundMessageParser.Parse("typing"u8, out var typing, out var error));
        Assert.False(typing);
        Assert.Null(error);
    }
}

using Chat.Application.Abstractions;
using Chat.Application.Common;
using Chat.Domain.Messages;
using Chat.Domain.Rooms;
using Chat.Domain.Users;
using FluentValidation;
using Mediator;
using Microsoft.Extensions.Options;

namespace Chat.Application.Messages.SendMessage;

public sealed record SendMessageCommand(ConnectionId Sender, string? Text) : ICommand<Result<ChatMessage>>;

public sealed class SendMessageValidator : AbstractValidator<SendMessageCommand>
{
    public SendMessageValidator(IOptions<ChatOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var maxLength = options.Value.MaxMessageLength;
        RuleFor(c => c.Text).Custom((text, context) =>
        {
            if (MessageText.Validate(text, maxLength) is { } error)
            {
                context.AddFailure(error);
            }
        });
    }
}

public sealed class SendMessageHandler(
    IConnectionRegistry registry, IMessagePublisher publisher, TimeProvider clock, IOptions<ChatOptions> options)
    : ICommandHandler<SendMessageCommand, Result<ChatMessage>>
{
    private readonly int maxLength = options.Value.MaxMessageLength;

    public async ValueTask<Result<ChatMessage>> Handle(SendMessageCommand command, CancellationToken cancellationToken)
    {
        if (!registry.TryGetUser(command.Sender, out var user) || user.Room is not { } room)
        {
            return Result.NotFound<ChatMessage>("Not in a room.");
        }

        var text = MessageText.Create(command.Text!, maxLength);
        if (room.Post(user, text, clock.GetUtcNow()) is not { } message)
        {
            return Result.NotFound<ChatMessage>("Not in a room.");
        }

        // Queued, not yet numbered or stored: the sender reads on while the journal commits (see IMessagePublisher).
        return await publisher.PublishAsync(room, message, command.Sender, cancellationToken)
            ? Result.Ok(message)
            : Result.Unavailable<ChatMessage>("Server is shutting down; this message was not sent.");
    }
}

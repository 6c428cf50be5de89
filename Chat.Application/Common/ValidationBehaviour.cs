using FluentValidation;
using Mediator;

namespace Chat.Application.Common;

/// <summary>Runs the message's validators; an invalid message never reaches its handler.</summary>
public sealed class ValidationBehaviour<TMessage, TResponse>(IEnumerable<IValidator<TMessage>> validators)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : notnull, IMessage
    where TResponse : IFailable<TResponse>
{
    private readonly IValidator<TMessage>[] validators = [.. validators];

    public async ValueTask<TResponse> Handle(
        TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        foreach (var validator in validators)
        {
            var result = await validator.ValidateAsync(message, cancellationToken);
            if (!result.IsValid)
            {
                return TResponse.Invalid([.. result.Errors.Select(e => e.ErrorMessage)]);
            }
        }

        return await next(message, cancellationToken);
    }
}

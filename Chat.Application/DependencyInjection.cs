using Chat.Application.Common;
using Chat.Application.Messages.SendMessage;
using FluentValidation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class ApplicationServiceCollectionExtensions
{
    /// <summary>The use cases, their validators and the validation pipeline.</summary>
    public static IServiceCollection AddApplication(this IServiceCollection services)
    {
        services.AddMediator(options =>
        {
            options.ServiceLifetime = ServiceLifetime.Singleton;
            options.Assemblies = [typeof(SendMessageCommand)];
            options.PipelineBehaviors = [typeof(ValidationBehaviour<,>)];
        });

        // Singletons: the mediator is one, and a scoped validator could not be consumed by it.
        services.AddValidatorsFromAssemblyContaining<SendMessageValidator>(ServiceLifetime.Singleton);
        services.AddOptions<ChatOptions>();
        services.AddSingleton<IValidateOptions<ChatOptions>, ChatOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}

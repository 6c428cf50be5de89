using System.Reflection;
using NetArchTest.Rules;

namespace Chat.Architecture.Tests;

/// <summary>Dependencies point inward: Domain ← Application ← Infrastructure ← Api.</summary>
public sealed class LayerTests
{
    private static readonly Assembly Domain = typeof(Chat.Domain.Rooms.ChatRoom).Assembly;
    private static readonly Assembly Application = typeof(Chat.Application.Common.ChatOptions).Assembly;
    private static readonly Assembly Infrastructure = typeof(Chat.Infrastructure.Realtime.ChatBroadcaster).Assembly;

    [Fact]
    public void The_domain_depends_on_no_other_layer_and_no_framework_package()
    {
        AssertNoDependency(Domain, "Chat.Application", "Chat.Infrastructure", "Chat.Api", "Mediator", "FluentValidation",
            "Microsoft.Extensions", "Microsoft.AspNetCore", "System.Text.Json", "System.Net");
    }

    [Fact]
    public void The_application_knows_no_infrastructure_sockets_or_json()
    {
        AssertNoDependency(Application, "Chat.Infrastructure", "Chat.Api", "Microsoft.AspNetCore", "System.Text.Json",
            "System.Net.WebSockets", "System.Net.Sockets");
    }

    [Fact]
    public void The_infrastructure_knows_nothing_of_the_api_or_asp_net_core()
    {
        AssertNoDependency(Infrastructure, "Chat.Api", "Microsoft.AspNetCore");
    }

    [Fact]
    public void Handlers_and_validators_are_sealed_and_named_for_their_role()
    {
        var result = Types.InAssembly(Application)
            .That().ImplementInterface(typeof(Mediator.ICommandHandler<,>))
            .Or().ImplementInterface(typeof(Mediator.IQueryHandler<,>))
            .Should().BeSealed().And().HaveNameEndingWith("Handler")
            .GetResult();
        Assert.True(result.IsSuccessful, Describe(result));
    }

    private static void AssertNoDependency(Assembly assembly, params string[] forbidden)
    {
        var result = Types.InAssembly(assembly).ShouldNot().HaveDependencyOnAny(forbidden).GetResult();
        Assert.True(result.IsSuccessful, Describe(result));
    }

    private static string Describe(NetArchTest.Rules.TestResult result) =>
        result.IsSuccessful ? "" : "Offending types: " + string.Join(", ", result.FailingTypeNames ?? []);
}

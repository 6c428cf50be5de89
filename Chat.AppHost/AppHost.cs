var builder = DistributedApplication.CreateBuilder(args);

var api = builder.AddProject<Projects.Chat_Api>("api")
    .WithHttpHealthCheck("/health");

// Browsers reach only the web front end, which serves the page and reverse-proxies the API (services:api:http:0).
var web = builder.AddProject<Projects.Chat_Web>("web")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/ready")
    .WithReference(api)
    .WaitFor(api);

// The API accepts WebSocket upgrades only from allowed origins. Locally that is the web's launch-profile http URL;
// published, ingress serves the web over https, the https endpoint Aspire adds to every project when publishing.
// Every endpoint is allocated before any project starts, so api reading web's URL while web waits for api is no cycle.
api.WithEnvironment("Chat__AllowedOrigins__0", web.GetEndpoint(builder.ExecutionContext.IsPublishMode ? "https" : "http"));

builder.Build().Run();

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.Services.AddStaticSite();
builder.Services.AddApiProxy();

var app = builder.Build();

app.UseSecurityHeaders();
app.UseStaticSite();
// /alive and /ready are this host's own probes; /health is the API's and is forwarded (no writer passed).
app.MapDefaultEndpoints();
app.MapApiProxy();

app.Run();

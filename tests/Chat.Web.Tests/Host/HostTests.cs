using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Chat.Web.Tests.Host;

/// <summary>Chat.Web on Kestrel in front of a fake API: what it serves itself and what it forwards.</summary>
public sealed class HostTests : IAsyncLifetime
{
    private const string PageOrigin = "https://chat.example";
    private FakeUpstream upstream = null!;
    private ChatWebFactory web = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        upstream = await FakeUpstream.StartAsync();
        web = new ChatWebFactory(upstream.Address);
    }

    public async ValueTask DisposeAsync()
    {
        await web.DisposeAsync();
        await upstream.DisposeAsync();
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/chat.js")]
    [InlineData("/no-such-file")]
    [InlineData("/stats")]
    public async Task Every_response_carries_the_security_headers(string path)
    {
        using var client = web.CreateRawClient();

        using var response = await client.GetAsync(path, Cancellation);

        var csp = Header(response, "Content-Security-Policy");
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self';", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("ws:", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
    }

    [Theory]
    [InlineData("/static/chat.js", "javascript")]
    [InlineData("/static/style.css", "text/css")]
    public async Task Assets_are_also_served_under_static_as_the_original_did(string path, string mediaType)
    {
        using var client = web.CreateRawClient();

        using var response = await client.GetAsync(path, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(mediaType, response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_page_is_served_at_the_root_and_revalidated_on_every_load()
    {
        using var client = web.CreateRawClient();

        using var response = await client.GetAsync("/", Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoCache, $"Cache-Control: {response.Headers.CacheControl}");
        var etag = response.Headers.ETag;
        Assert.NotNull(etag);
        var html = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.Contains("<script src=\"chat.js\" defer></script>", html, StringComparison.Ordinal);

        using var revalidation = new HttpRequestMessage(HttpMethod.Get, "/");
        revalidation.Headers.IfNoneMatch.Add(etag);
        using var notModified = await client.SendAsync(revalidation, Cancellation);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
    }

    [Theory]
    [InlineData("/chat.js", "text/javascript")]
    [InlineData("/style.css", "text/css")]
    [InlineData("/favicon.svg", "image/svg+xml")]
    public async Task Assets_are_served_with_their_type_and_may_be_cached(string path, string mediaType)
    {
        using var client = web.CreateRawClient();

        using var response = await client.GetAsync(path, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.Public, $"Cache-Control: {response.Headers.CacheControl}");
        Assert.Equal(TimeSpan.FromHours(1), response.Headers.CacheControl?.MaxAge);
        Assert.NotNull(response.Headers.ETag);
    }

    [Theory]
    [InlineData("br")]
    [InlineData("gzip")]
    public async Task Static_files_are_compressed_when_the_client_accepts_it(string encoding)
    {
        using var client = web.CreateRawClient();
        var plain = await client.GetByteArrayAsync("/chat.js", Cancellation);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/chat.js");
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue(encoding));

        using var response = await client.SendAsync(request, Cancellation);

        Assert.Equal([encoding], response.Content.Headers.ContentEncoding);
        Assert.Contains("Accept-Encoding", response.Headers.Vary);
        var compressed = await response.Content.ReadAsByteArrayAsync(Cancellation);
        Assert.True(compressed.Length < plain.Length / 2, $"{compressed.Length} bytes compressed, {plain.Length} plain");
        await using var decoder = encoding == "br"
            ? (Stream)new BrotliStream(new MemoryStream(compressed), CompressionMode.Decompress)
            : new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var decoded = new MemoryStream();
        await decoder.CopyToAsync(decoded, Cancellation);
        Assert.Equal(plain, decoded.ToArray());
    }

    [Theory]
    [InlineData("/stats", "")]
    [InlineData("/health", "")]
    [InlineData("/room/general/stats", "")]
    [InlineData("/room/lobby/stats", "?verbose=1")]
    public async Task Api_paths_are_forwarded_to_the_api_unchanged(string path, string query)
    {
        using var client = web.CreateRawClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path + query);
        request.Headers.Add("Origin", PageOrigin);
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));

        using var response = await client.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fake", Header(response, "X-Upstream"));
        Assert.Empty(response.Content.Headers.ContentEncoding);
        var seen = await response.Content.ReadFromJsonAsync<ReceivedRequest>(JsonSerializerOptions.Web, Cancellation);
        Assert.NotNull(seen);
        Assert.Equal(path, seen.Path);
        Assert.Equal(query, seen.Query);
        Assert.Equal(PageOrigin, seen.Origin);
        Assert.Equal(web.Address.Authority, seen.ForwardedHost);
    }

    [Theory]
    [InlineData("/alive")]
    [InlineData("/ready")]
    public async Task The_hosts_own_probes_answer_here_and_are_not_forwarded(string path)
    {
        using var client = web.CreateRawClient();

        using var response = await client.GetAsync(path, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Upstream"));
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync(Cancellation));
    }

    [Fact]
    public async Task Paths_outside_the_api_and_wwwroot_are_not_found_and_not_forwarded()
    {
        using var client = web.CreateRawClient();

        using var response = await client.GetAsync("/statistics", Cancellation);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Upstream"));
    }

    [Fact]
    public async Task A_websocket_is_forwarded_both_ways_with_the_browsers_origin()
    {
        using var socket = await ConnectAsync("/ws/" + Uri.EscapeDataString("zoë ✓") + "?room=lobby");

        var seen = JsonSerializer.Deserialize<ReceivedRequest>(await ReceiveAsync(socket), JsonSerializerOptions.Web);
        Assert.NotNull(seen);
        Assert.Equal("/ws/zoë ✓", Uri.UnescapeDataString(seen.Path));
        Assert.Equal("?room=lobby", seen.Query);
        Assert.Equal(PageOrigin, seen.Origin);

        await SendAsync(socket, "hello");
        Assert.Equal("echo:hello", await ReceiveAsync(socket));

        await SendAsync(socket, "close");
        await Assert.ThrowsAnyAsync<Exception>(() => ReceiveAsync(socket));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Equal(FakeUpstream.RefusalReason, socket.CloseStatusDescription);
    }

    private async Task<ClientWebSocket> ConnectAsync(string pathAndQuery)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Origin", PageOrigin);
        var uri = new UriBuilder(web.Address) { Scheme = "ws" }.Uri;
        using var timeout = Timeout();
        await socket.ConnectAsync(new Uri(uri, pathAndQuery), timeout.Token);
        return socket;
    }

    private static async Task SendAsync(ClientWebSocket socket, string text)
    {
        using var timeout = Timeout();
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, timeout.Token);
    }

    private static async Task<string> ReceiveAsync(ClientWebSocket socket)
    {
        using var timeout = Timeout();
        var buffer = new byte[8192];
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        if (result.MessageType == WebSocketMessageType.Close)
        {
            throw new WebSocketException($"Closed: {result.CloseStatus} {result.CloseStatusDescription}");
        }

        Assert.True(result.EndOfMessage);
        return Encoding.UTF8.GetString(buffer, 0, result.Count);
    }

    private static CancellationTokenSource Timeout()
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        source.CancelAfter(TimeSpan.FromSeconds(10));
        return source;
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : "";
}

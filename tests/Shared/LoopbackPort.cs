using System.Net;
using System.Net.Sockets;

namespace Chat.Testing;

/// <summary>
/// Ports for servers the tests start. Shared by test projects as a linked file:
/// <c>&lt;Compile Include="..\Shared\LoopbackPort.cs" /&gt;</c>.
/// </summary>
internal static class LoopbackPort
{
    /// <summary>A port on 127.0.0.1 free at this moment; someone may take it before the server binds it.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

namespace Chat.Infrastructure.Protocol;

/// <summary>
/// Events beyond the original's that a client asked for in its socket URL (<c>?features=typing</c>). A client written
/// for the original asks for none, so it is never sent an event type it does not know.
/// </summary>
[Flags]
public enum ClientFeatures
{
    None = 0,

    /// <summary><c>typing</c> events: who in the room is typing.</summary>
    Typing = 1,
}

public static class ClientFeaturesParser
{
    /// <summary>Reads a comma-separated list such as <c>typing</c>; names it does not know are ignored, so newer clients still connect.</summary>
    public static ClientFeatures Parse(string? list)
    {
        var features = ClientFeatures.None;
        foreach (var name in (list ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (name.Equals("typing", StringComparison.OrdinalIgnoreCase))
            {
                features |= ClientFeatures.Typing;
            }
        }

        return features;
    }
}

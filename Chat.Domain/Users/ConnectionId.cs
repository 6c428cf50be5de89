namespace Chat.Domain.Users;

/// <summary>Identifies one live client session; a person who reconnects gets a new one.</summary>
public readonly record struct ConnectionId(long Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Chat.LoadGen;

/// <summary>One scenario's figures, printed as lines and appended as one JSON object per line to <c>--out</c>.</summary>
internal sealed class Result(string scenario, string label)
{
    private readonly List<(string Key, object Value)> values = [("scenario", scenario), ("server", label)];

    public Result Add(string key, object value)
    {
        values.Add((key, value));
        return this;
    }

    public void Write(string? path)
    {
        foreach (var (key, value) in values)
        {
            Console.WriteLine($"  {key,-32} {Format(value)}");
        }

        if (path is null)
        {
            return;
        }

        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            foreach (var (key, value) in values)
            {
                switch (value)
                {
                    case double d when double.IsFinite(d):
                        json.WriteNumber(key, Math.Round(d, 4));
                        break;
                    case double:
                        json.WriteNull(key);
                        break;
                    case long l:
                        json.WriteNumber(key, l);
                        break;
                    case int i:
                        json.WriteNumber(key, i);
                        break;
                    case bool b:
                        json.WriteBoolean(key, b);
                        break;
                    default:
                        json.WriteString(key, value.ToString());
                        break;
                }
            }

            json.WriteEndObject();
        }

        File.AppendAllText(path, Encoding.UTF8.GetString(stream.ToArray()) + "\n");
    }

    public static string Format(object value) => value switch
    {
        double d => d.ToString(Math.Abs(d) >= 1000 ? "N0" : "0.###", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}

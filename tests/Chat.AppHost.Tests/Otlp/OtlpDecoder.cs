namespace Chat.AppHost.Tests.Otlp;

/// <summary>A span as exported: its resource's attributes (<c>service.name</c> …), scope, name and own attributes.</summary>
internal sealed record ExportedSpan(
    IReadOnlyDictionary<string, string> Resource,
    string Scope,
    string Name,
    string TraceId,
    string SpanId,
    string ParentSpanId,
    IReadOnlyDictionary<string, string> Attributes)
{
    public string? Service => Resource.GetValueOrDefault("service.name");
}

/// <summary>One data point of a metric: a sum or gauge value, or a histogram's count.</summary>
internal sealed record ExportedPoint(IReadOnlyDictionary<string, string> Attributes, double Value);

internal sealed record ExportedMetric(
    IReadOnlyDictionary<string, string> Resource,
    string Scope,
    string Name,
    bool IsCumulative,
    IReadOnlyList<ExportedPoint> Points)
{
    public string? Service => Resource.GetValueOrDefault("service.name");
}

internal sealed record ExportedLog(IReadOnlyDictionary<string, string> Resource, string Scope, string Body)
{
    public string? Service => Resource.GetValueOrDefault("service.name");
}

/// <summary>
/// Reads OTLP/HTTP protobuf export requests (opentelemetry-proto, collector/*/v1 and the trace, metrics, logs and
/// common messages); the field numbers below are theirs. Only the fields the assertions need are decoded.
/// </summary>
internal static class OtlpDecoder
{
    // ExportTraceServiceRequest.resource_spans = 1; ResourceSpans { resource = 1; scope_spans = 2 }
    // ScopeSpans { scope = 1; spans = 2 }; Span { trace_id = 1; span_id = 2; parent_span_id = 4; name = 5; attributes = 9 }
    public static IEnumerable<ExportedSpan> Spans(ReadOnlyMemory<byte> request)
    {
        foreach (var (resource, scopeSpans) in ResourceEntries(request))
        {
            var (scope, spans) = ScopeEntries(scopeSpans);
            foreach (var span in spans)
            {
                var fields = ProtoReader.Read(span);
                yield return new ExportedSpan(
                    resource,
                    scope,
                    Text(fields, 5),
                    Hex(fields, 1),
                    Hex(fields, 2),
                    Hex(fields, 4),
                    Attributes(fields, 9));
            }
        }
    }

    // ExportMetricsServiceRequest.resource_metrics = 1; ResourceMetrics { resource = 1; scope_metrics = 2 }
    // ScopeMetrics { scope = 1; metrics = 2 }; Metric { name = 1; gauge = 5; sum = 7; histogram = 9 }
    // Gauge { data_points = 1 }; Sum and Histogram { data_points = 1; aggregation_temporality = 2 (2 = cumulative) }
    public static IEnumerable<ExportedMetric> Metrics(ReadOnlyMemory<byte> request)
    {
        foreach (var (resource, scopeMetrics) in ResourceEntries(request))
        {
            var (scope, metrics) = ScopeEntries(scopeMetrics);
            foreach (var metric in metrics)
            {
                var fields = ProtoReader.Read(metric);
                var name = Text(fields, 1);
                foreach (var data in fields.Where(f => f.Number is 5 or 7 or 9))
                {
                    var dataFields = ProtoReader.Read(data.Bytes);
                    var cumulative = data.Number == 5 || dataFields.Any(f => f.Number == 2 && f.Value == 2);
                    var points = dataFields.Where(f => f.Number == 1)
                        .Select(p => data.Number == 9 ? HistogramPoint(p.Bytes) : NumberPoint(p.Bytes))
                        .ToList();
                    yield return new ExportedMetric(resource, scope, name, cumulative, points);
                }
            }
        }
    }

    // ExportLogsServiceRequest.resource_logs = 1; ResourceLogs { resource = 1; scope_logs = 2 }
    // ScopeLogs { scope = 1; log_records = 2 }; LogRecord { body = 5 }
    public static IEnumerable<ExportedLog> Logs(ReadOnlyMemory<byte> request)
    {
        foreach (var (resource, scopeLogs) in ResourceEntries(request))
        {
            var (scope, records) = ScopeEntries(scopeLogs);
            foreach (var record in records)
            {
                var body = ProtoReader.Read(record).Where(f => f.Number == 5).Select(f => Value(f.Bytes)).FirstOrDefault();
                yield return new ExportedLog(resource, scope, body ?? "");
            }
        }
    }

    /// <summary>Each resource (Resource { attributes = 1 }) with each of its scope entries.</summary>
    private static IEnumerable<(IReadOnlyDictionary<string, string> Resource, ReadOnlyMemory<byte> ScopeEntry)> ResourceEntries(
        ReadOnlyMemory<byte> request)
    {
        foreach (var resourceEntry in ProtoReader.Read(request).Where(f => f.Number == 1))
        {
            var fields = ProtoReader.Read(resourceEntry.Bytes);
            var resource = fields.Where(f => f.Number == 1).Select(f => Attributes(ProtoReader.Read(f.Bytes), 1)).FirstOrDefault()
                ?? new Dictionary<string, string>();
            foreach (var scopeEntry in fields.Where(f => f.Number == 2))
            {
                yield return (resource, scopeEntry.Bytes);
            }
        }
    }

    /// <summary>A scope entry's scope name (InstrumentationScope { name = 1 }) and its items (field 2).</summary>
    private static (string Scope, IEnumerable<ReadOnlyMemory<byte>> Items) ScopeEntries(ReadOnlyMemory<byte> scopeEntry)
    {
        var fields = ProtoReader.Read(scopeEntry);
        var scope = fields.Where(f => f.Number == 1).Select(f => Text(ProtoReader.Read(f.Bytes), 1)).FirstOrDefault() ?? "";
        return (scope, fields.Where(f => f.Number == 2).Select(f => f.Bytes));
    }

    // NumberDataPoint { as_double = 4; as_int = 6 (sfixed64); attributes = 7 }
    private static ExportedPoint NumberPoint(ReadOnlyMemory<byte> point)
    {
        var fields = ProtoReader.Read(point);
        var value = fields.Where(f => f.Number is 4 or 6).Select(f => f.Number == 4 ? f.Double : (long)f.Value).FirstOrDefault();
        return new ExportedPoint(Attributes(fields, 7), value);
    }

    // HistogramDataPoint { count = 4 (fixed64); attributes = 9 }
    private static ExportedPoint HistogramPoint(ReadOnlyMemory<byte> point)
    {
        var fields = ProtoReader.Read(point);
        return new ExportedPoint(Attributes(fields, 9), fields.Where(f => f.Number == 4).Select(f => (double)f.Value).FirstOrDefault());
    }

    // KeyValue { key = 1; value = 2 }
    private static Dictionary<string, string> Attributes(List<ProtoField> fields, int number)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var keyValue in fields.Where(f => f.Number == number))
        {
            var pair = ProtoReader.Read(keyValue.Bytes);
            attributes[Text(pair, 1)] = pair.Where(f => f.Number == 2).Select(f => Value(f.Bytes)).FirstOrDefault() ?? "";
        }

        return attributes;
    }

    // AnyValue { string_value = 1; bool_value = 2; int_value = 3; double_value = 4 }; arrays, maps and bytes read as "".
    private static string Value(ReadOnlyMemory<byte> anyValue)
    {
        foreach (var field in ProtoReader.Read(anyValue))
        {
            switch (field.Number)
            {
                case 1: return field.Text;
                case 2: return field.Value != 0 ? "true" : "false";
                case 3: return ((long)field.Value).ToString(System.Globalization.CultureInfo.InvariantCulture);
                case 4: return field.Double.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return "";
    }

    private static string Text(List<ProtoField> fields, int number) =>
        fields.Where(f => f.Number == number).Select(f => f.Text).FirstOrDefault() ?? "";

    private static string Hex(List<ProtoField> fields, int number) =>
        fields.Where(f => f.Number == number).Select(f => f.Hex).FirstOrDefault() ?? "";
}

using System.Globalization;
using Microsoft.Diagnostics.Runtime;

// Counts the objects a running .NET process still reaches, by type: Chat.HeapCensus <pid>.
// It snapshots the process (the server carries on), walks the heap from its roots so garbage waiting for the next
// collection is left out, and prints "TOTAL<TAB>objects<TAB>bytes", then one "objects<TAB>bytes<TAB>type" line per
// type, largest first. Two censuses, before and while N clients are connected, give what one connection holds.
if (args.Length != 1 || !int.TryParse(args[0], CultureInfo.InvariantCulture, out var pid))
{
    Console.Error.WriteLine("Usage: Chat.HeapCensus <pid>");
    return 2;
}

using var target = DataTarget.CreateSnapshotAndAttach(pid);
var clr = target.ClrVersions.Single();
// The debugging library ships beside the runtime (the default lookup would try to download one); a snapshot
// carries no version for it to match, hence ignoreMismatch.
var dac = Path.Combine(Path.GetDirectoryName(clr.ModuleInfo.FileName)!, "libmscordaccore.so");
using var runtime = File.Exists(dac) ? clr.CreateRuntime(dac, ignoreMismatch: true) : clr.CreateRuntime();
var heap = runtime.Heap;

var reached = new HashSet<ulong>();
var pending = new Stack<ulong>();
foreach (var root in heap.EnumerateRoots())
{
    if (root.Object.Address != 0 && reached.Add(root.Object.Address))
    {
        pending.Push(root.Object.Address);
    }
}

var byType = new Dictionary<string, (long Objects, long Bytes)>(StringComparer.Ordinal);
while (pending.TryPop(out var address))
{
    var obj = heap.GetObject(address);
    if (!obj.IsValid)
    {
        continue;
    }

    var name = obj.Type?.Name ?? "?";
    var (objects, bytes) = byType.GetValueOrDefault(name);
    byType[name] = (objects + 1, bytes + (long)obj.Size);
    foreach (var reference in obj.EnumerateReferenceAddresses(carefully: true))
    {
        if (reference != 0 && reached.Add(reference))
        {
            pending.Push(reference);
        }
    }
}

var output = Console.Out;
output.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"TOTAL\t{byType.Values.Sum(v => v.Objects)}\t{byType.Values.Sum(v => v.Bytes)}"));
foreach (var (name, (objects, bytes)) in byType.OrderByDescending(kv => kv.Value.Bytes))
{
    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{objects}\t{bytes}\t{name}"));
}

return 0;

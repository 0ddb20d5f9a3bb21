namespace Etcd.AspNetCore.Session.Tests.Reliability.History;

/// <summary>A promise of the store that a history breaks.</summary>
public enum ViolationKind
{
    /// <summary>What etcd holds at the end misses an acknowledged write.</summary>
    LostWrite,

    /// <summary>A read missed a write acknowledged more than the bound before it started.</summary>
    StaleRead,

    /// <summary>A lone tab's read missed its own acknowledged write.</summary>
    ReadYourWritesMiss,

    /// <summary>A request opened a session through a key rotated away or destroyed more than the bound before it started.</summary>
    DeadKeyOpened,
}

/// <param name="OperationId">The operation that shows it: the read, the request that opened a dead key, or the lost write.</param>
public sealed record Violation(ViolationKind Kind, int OperationId, string Detail);

/// <summary>
/// Checks a <see cref="History"/> against the store's promises. Pure: no etcd, no clock.
/// <para>
/// Each item of each session (by public id, which a rotation keeps) is a register. Values are unique, so a value
/// names the write that produced it. A write <c>w</c> to a register is <em>superseded at time t</em> when an
/// acknowledged write <c>w'</c> to the same register started after <c>w</c> ended and ended more than the bound
/// before <c>t</c>. A value observed at <c>t</c> (or the absence of the item) must come from a write that is not
/// superseded at <c>t</c>; the absence may also be the initial state, which every acknowledged write supersedes. A
/// remove is a write of "absent"; so is a destroy, for every item of the session it opened. A write without a 2xx
/// (or whose response broke off) may or may not have been applied: it never supersedes, but may explain a value.
/// </para>
/// <list type="bullet">
/// <item>Lost write: what etcd holds at the end, with bound 0 and t = the end of time.</item>
/// <item>Stale read: every acknowledged read, at its start, with the bound (<c>MaxStaleness</c> plus an allowance).</item>
/// <item>Read-your-writes: a lone tab's reads through its current cookie, with bound 0, counting only its own writes whose commit could renew
/// its token (not those committed after the response started, which only the staleness bound covers).</item>
/// <item>Dead key: no request opens a key that an acknowledged rotation, sign-in, destroy or sign-out moved away
/// from or deleted, once the bound has passed since that request ended.</item>
/// </list>
/// A read that opened a dead key is reported as that, not also as stale. A read can be both stale and a
/// read-your-writes miss; it is then reported under both.
/// </summary>
public sealed class HistoryChecker
{
    private readonly History _history;
    private readonly double _bound;
    private readonly Dictionary<(string Session, string Key), List<Write>> _writes = [];
    private readonly Dictionary<string, Write> _byValue = new(StringComparer.Ordinal);

    /// <param name="bound">How far behind etcd a read may be: <c>MaxStaleness</c> plus the allowance.</param>
    public HistoryChecker(History history, TimeSpan bound)
    {
        _history = history;
        _bound = bound.TotalSeconds;
        var keys = history.Operations.SelectMany(o => o.Writes).Select(w => w.Key).Distinct(StringComparer.Ordinal).ToList();
        foreach (var op in history.Operations)
        {
            if (op.EndsSession && op.OpenedKey is not null && op.SessionId is { } ended)
            {
                foreach (var key in keys)
                {
                    Add(new Write(op, ended, key, null));
                }
            }

            if ((op.CommittedSessionId ?? op.SessionId) is { } session)
            {
                foreach (var write in op.Writes)
                {
                    Add(new Write(op, session, write.Key, write.Value));
                }
            }

            foreach (var write in op.Writes.Where(w => w.Value is not null))
            {
                _byValue[write.Value!] = new Write(op, op.CommittedSessionId ?? op.SessionId, write.Key, write.Value);
            }
        }
    }

    public IReadOnlyList<Violation> Check()
    {
        var violations = new List<Violation>();
        violations.AddRange(DeadKeysOpened());
        var openedDeadKey = violations.Select(v => v.OperationId).ToHashSet();
        violations.AddRange(LostWrites());
        foreach (var read in _history.Operations.Where(o => o.IsRead && o.Acknowledged && o.SessionId is not null && !openedDeadKey.Contains(o.Id)))
        {
            if (Misses(read, _bound, _ => true) is { } stale)
            {
                violations.Add(new Violation(ViolationKind.StaleRead, read.Id, stale));
            }

            if (read.Kind == OperationKind.Read && _history.TabsPerBrowser.GetValueOrDefault(read.Browser) == 1
                && Misses(read, 0, w => w.Op.Browser == read.Browser && !w.Op.CommitsAfterBody) is { } missed)
            {
                violations.Add(new Violation(ViolationKind.ReadYourWritesMiss, read.Id, missed));
            }
        }

        return violations;
    }

    /// <summary>One violation per lost operation and session, listing the items it lost (a destroy loses them all).</summary>
    private IEnumerable<Violation> LostWrites()
    {
        var registers = _writes.Keys.Concat(_history.FinalSessions.SelectMany(s => s.Value.Keys.Select(k => (s.Key, k)))).Distinct();
        var lost = new List<(string Session, int Operation, string Detail)>();
        foreach (var register in registers)
        {
            var final = _history.FinalSessions.GetValueOrDefault(register.Item1)?.GetValueOrDefault(register.Item2);
            if (Admissible(register, final, double.PositiveInfinity, 0, _ => true))
            {
                continue;
            }

            // The acknowledged writes that nothing superseded: one of them should be there.
            var current = WritesTo(register).Where(w => w.Op.Acknowledged && !Superseded(register, w.Op.End, double.PositiveInfinity, 0, _ => true)).ToList();
            lost.Add((register.Item1, current.Count > 0 ? current[^1].Op.Id : -1,
                $"item {register.Item2}: etcd holds {Show(final)}; expected {string.Join(" or ", current.Select(Describe))}"));
        }

        return lost.GroupBy(l => (l.Session, l.Operation)).Select(g =>
            new Violation(ViolationKind.LostWrite, g.Key.Operation, $"session {g.Key.Session}: {string.Join("; ", g.Select(l => l.Detail))}"));
    }

    /// <summary>Why <paramref name="read"/> is not admissible at its start with <paramref name="bound"/>, or <see langword="null"/>.</summary>
    private string? Misses(Operation read, double bound, Func<Write, bool> counts)
    {
        var misses = new List<string>();
        foreach (var register in _writes.Keys.Where(r => r.Session == read.SessionId))
        {
            var seen = read.Items?.GetValueOrDefault(register.Key);
            if (!Admissible(register, seen, read.Start, bound, counts))
            {
                var expected = WritesTo(register).Where(w => w.Op.Acknowledged && counts(w) && w.Op.End + bound < read.Start
                    && !Superseded(register, w.Op.End, read.Start, bound, counts));
                misses.Add($"item {register.Key}: read {Show(seen)}, expected {string.Join(" or ", expected.Select(Describe))}");
            }
        }

        return misses.Count == 0 ? null : $"session {read.SessionId} at {read.Start:0.000} s: {string.Join("; ", misses)}";
    }

    private IEnumerable<Violation> DeadKeysOpened()
    {
        var killed = new Dictionary<string, Operation>(StringComparer.Ordinal);
        foreach (var op in _history.Operations.Where(o => o.Acknowledged && o.KillsOpenedKey && o.OpenedKey is not null))
        {
            if (!killed.TryGetValue(op.OpenedKey!, out var earlier) || op.End < earlier.End)
            {
                killed[op.OpenedKey!] = op;
            }
        }

        foreach (var op in _history.Operations.Where(o => o.OpenedKey is not null))
        {
            if (killed.TryGetValue(op.OpenedKey!, out var killer) && op.Start > killer.End + _bound)
            {
                yield return new Violation(ViolationKind.DeadKeyOpened, op.Id,
                    $"{op.Kind} #{op.Id} at {op.Start:0.000} s opened session {op.SessionId} through key {op.OpenedKey}, which {killer.Kind} #{killer.Id} ended at {killer.End:0.000} s");
            }
        }
    }

    /// <summary>Whether <paramref name="observed"/> (<see langword="null"/>: absent) may be the register's value at <paramref name="at"/>.</summary>
    private bool Admissible((string, string) register, string? observed, double at, double bound, Func<Write, bool> counts)
    {
        if (observed is not null)
        {
            return _byValue.TryGetValue(observed, out var source) && !Superseded(register, source.Op.End, at, bound, counts);
        }

        return !Superseded(register, double.NegativeInfinity, at, bound, counts)
            || WritesTo(register).Any(w => w.Value is null && !Superseded(register, w.Op.End, at, bound, counts));
    }

    /// <summary>Some counted, acknowledged write to the register started after <paramref name="end"/> and ended more than <paramref name="bound"/> before <paramref name="at"/>.</summary>
    private bool Superseded((string, string) register, double end, double at, double bound, Func<Write, bool> counts) =>
        WritesTo(register).Any(w => w.Op.Acknowledged && counts(w) && w.Op.Start > end && w.Op.End + bound < at);

    private List<Write> WritesTo((string, string) register) => _writes.GetValueOrDefault(register) ?? [];

    private void Add(Write write)
    {
        var register = (write.Session!, write.Key);
        if (!_writes.TryGetValue(register, out var list))
        {
            _writes[register] = list = [];
        }

        list.Add(write);
    }

    private static string Show(string? value) => value ?? "nothing";

    private static string Describe(Write w) =>
        $"{Show(w.Value)} ({w.Op.Kind} #{w.Op.Id}, browser {w.Op.Browser} tab {w.Op.Tab}, instance {w.Op.Instance}, {w.Op.Start:0.000}-{w.Op.End:0.000} s, {w.Op.Status})";

    private sealed record Write(Operation Op, string? Session, string Key, string? Value);
}

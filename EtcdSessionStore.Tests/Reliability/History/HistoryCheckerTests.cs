namespace Etcd.AspNetCore.Session.Tests.Reliability.History;

/// <summary>
/// The history checker on hand-built histories (no etcd): clean ones pass, and each planted violation is reported,
/// exactly once and nothing else. Bound 1 s throughout.
/// </summary>
public sealed class HistoryCheckerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);

    [Test]
    public void AHistoryThatKeepsEveryPromise_HasNoViolation()
    {
        Operation[] ops =
        [
            // Browser 1, two tabs, session S: concurrent writes, either may win; a read within the bound may be behind.
            Op(1, 1, 0, OperationKind.Set, 0.0, 0.1, 200, "S", writes: [("x", "a")]),
            Op(2, 1, 1, OperationKind.Set, 0.05, 0.2, 200, "S", writes: [("x", "b")]),
            Op(3, 1, 0, OperationKind.Read, 2.0, 2.1, 200, "S", items: [("x", "a")], opened: "K1"),
            Op(4, 1, 1, OperationKind.Remove, 3.0, 3.1, 200, "S", writes: [("x", null)], opened: "K1"),
            Op(5, 1, 0, OperationKind.Read, 3.5, 3.6, 200, "S", items: [("x", "a")], opened: "K1"),
            Op(6, 1, 0, OperationKind.Rotate, 4.0, 4.1, 200, "S", opened: "K1"),
            Op(7, 1, 1, OperationKind.Read, 4.5, 4.6, 200, "S", opened: "K1"), // the old key, within the bound
            Op(8, 1, 1, OperationKind.Read, 6.0, 6.1, 200, "S", opened: "K2"),
            Op(9, 1, 0, OperationKind.Set, 7.0, 9.0, 0, "S", writes: [("y", "c")], opened: "K2"), // no reply: maybe applied
            Op(10, 1, 1, OperationKind.Read, 9.5, 9.6, 200, "S", items: [("y", "c")], opened: "K2"),
            Op(11, 1, 0, OperationKind.SetTwice, 10.0, 10.1, 200, "S", writes: [("x", "d"), ("z", "e")], opened: "K2"),

            // Browser 2, a lone tab: sees its own writes at once on either instance, except one committed after the body.
            Op(20, 2, 0, OperationKind.Set, 0.0, 0.1, 200, "T", writes: [("x", "f")], instance: 0),
            Op(21, 2, 0, OperationKind.Read, 0.11, 0.2, 200, "T", items: [("x", "f")], opened: "K3", instance: 1),
            Op(22, 2, 0, OperationKind.SetAfterBody, 0.3, 0.4, 200, "T", writes: [("x", "g")], opened: "K3", instance: 0),
            Op(23, 2, 0, OperationKind.Read, 0.41, 0.5, 200, "T", items: [("x", "f")], opened: "K3", instance: 1),
            Op(24, 2, 0, OperationKind.Destroy, 1.0, 1.1, 200, "T", opened: "K3"),
            Op(25, 2, 0, OperationKind.Read, 1.2, 1.3, 200, "U"), // a new, empty session
        ];
        var final = Sessions(("S", [("x", "d"), ("y", "c"), ("z", "e")]));

        Assert.That(Check(ops, final, loneTabBrowser: 2), Is.Empty);
    }

    [Test]
    public void AFinalValueOlderThanAnAcknowledgedWrite_IsALostWrite()
    {
        Operation[] ops =
        [
            Op(1, 1, 0, OperationKind.Set, 0.0, 0.1, 200, "S", writes: [("x", "a")]),
            Op(2, 1, 1, OperationKind.Set, 0.2, 0.3, 200, "S", writes: [("x", "b")], opened: "K1"),
            Op(3, 1, 0, OperationKind.Set, 0.4, 0.5, 503, "S", writes: [("x", "c")], opened: "K1"), // failed: does not count
        ];

        Assert.That(Check(ops, Sessions(("S", [("x", "a")]))), Is.EqualTo(new[] { (ViolationKind.LostWrite, 2) }));
    }

    [Test]
    public void TheSecondCommitOfARequestMissingAtTheEnd_IsALostWrite()
    {
        Operation[] ops = [Op(1, 1, 0, OperationKind.SetTwice, 0.0, 0.1, 200, "S", writes: [("x", "a"), ("y", "b")])];

        Assert.That(Check(ops, Sessions(("S", [("x", "a")]))), Is.EqualTo(new[] { (ViolationKind.LostWrite, 1) }));
    }

    [Test]
    public void ASessionGoneAtTheEnd_WithNoDestroyAfterItsLastWrite_IsALostWrite()
    {
        Operation[] ops =
        [
            Op(1, 1, 0, OperationKind.Destroy, 0.0, 0.1, 200, "S", opened: "K1"),
            Op(2, 1, 1, OperationKind.Set, 0.2, 0.3, 200, "S", writes: [("x", "a")], opened: "K2"),
        ];

        Assert.That(Check(ops, Sessions()), Is.EqualTo(new[] { (ViolationKind.LostWrite, 2) }));
    }

    [Test]
    public void AReadBehindAWriteAcknowledgedMoreThanTheBoundBefore_IsStale_AndWithinTheBoundIsNot()
    {
        Operation[] ops =
        [
            Op(1, 1, 0, OperationKind.Set, 0.0, 0.1, 200, "S", writes: [("x", "a")]),
            Op(2, 1, 1, OperationKind.Set, 0.2, 0.3, 200, "S", writes: [("x", "b")], opened: "K1"),
            Op(3, 1, 0, OperationKind.Read, 1.0, 1.1, 200, "S", items: [("x", "a")], opened: "K1"),
            Op(4, 1, 0, OperationKind.Read, 1.5, 1.6, 200, "S", items: [("x", "a")], opened: "K1"),
            Op(5, 1, 1, OperationKind.Read, 1.5, 1.6, 200, "S", items: [("x", "b")], opened: "K1"),
        ];

        Assert.That(Check(ops, Sessions(("S", [("x", "b")]))), Is.EqualTo(new[] { (ViolationKind.StaleRead, 4) }));
    }

    [Test]
    public void AnItemMissingLongAfterItsAcknowledgedWrite_IsAStaleRead()
    {
        Operation[] ops =
        [
            Op(1, 1, 0, OperationKind.Set, 0.0, 0.1, 200, "S", writes: [("x", "a")]),
            Op(2, 1, 1, OperationKind.Read, 5.0, 5.1, 200, "S", opened: "K1"),
        ];

        Assert.That(Check(ops, Sessions(("S", [("x", "a")]))), Is.EqualTo(new[] { (ViolationKind.StaleRead, 2) }));
    }

    [Test]
    public void ALoneTabNotSeeingItsOwnWriteOnTheOtherInstance_IsAReadYourWritesMiss()
    {
        Operation[] ops =
        [
            Op(1, 2, 0, OperationKind.Set, 0.0, 0.1, 200, "T", writes: [("x", "a")], instance: 0),
            Op(2, 2, 0, OperationKind.Set, 0.2, 0.3, 200, "T", writes: [("x", "b")], opened: "K1", instance: 0),
            Op(3, 2, 0, OperationKind.Read, 0.31, 0.4, 200, "T", items: [("x", "a")], opened: "K1", instance: 1),
        ];

        Assert.That(Check(ops, Sessions(("T", [("x", "b")])), tabs: 1), Is.EqualTo(new[] { (ViolationKind.ReadYourWritesMiss, 3) }));
    }

    [Test]
    public void TheSameReadInABrowserWithTwoTabs_IsNoReadYourWritesMiss()
    {
        Operation[] ops =
        [
            Op(1, 2, 0, OperationKind.Set, 0.0, 0.1, 200, "T", writes: [("x", "a")], instance: 0),
            Op(2, 2, 0, OperationKind.Set, 0.2, 0.3, 200, "T", writes: [("x", "b")], opened: "K1", instance: 0),
            Op(3, 2, 0, OperationKind.Read, 0.31, 0.4, 200, "T", items: [("x", "a")], opened: "K1", instance: 1),
        ];

        Assert.That(Check(ops, Sessions(("T", [("x", "b")])), tabs: 2), Is.Empty);
    }

    [Test]
    public void AKeyOpenedLongAfterItsRotationOrDestroy_IsADeadKeyOpened()
    {
        Operation[] ops =
        [
            Op(1, 1, 0, OperationKind.Set, 0.0, 0.1, 200, "S", writes: [("x", "a")]),
            Op(2, 1, 0, OperationKind.SignIn, 1.0, 1.1, 200, "S", opened: "K1"),
            Op(3, 1, 1, OperationKind.Read, 1.5, 1.6, 200, "S", items: [("x", "a")], opened: "K1"), // within the bound
            Op(4, 1, 1, OperationKind.Read, 2.5, 2.6, 200, "S", items: [("x", "a")], opened: "K1"),
            Op(5, 1, 0, OperationKind.SignOut, 3.0, 3.1, 200, "S", opened: "K2"),
            Op(6, 1, 1, OperationKind.Set, 5.0, 5.1, 200, "S", writes: [("y", "b")], opened: "K2"),
        ];

        // The set through the destroyed key also reached etcd: stored, so it is no lost write.
        Assert.That(Check(ops, Sessions(("S", [("y", "b")]))), Is.EqualTo(new[] { (ViolationKind.DeadKeyOpened, 4), (ViolationKind.DeadKeyOpened, 6) }));
    }

    [Test]
    public void AnOlderCookieReplayedByALoneTab_IsNoReadYourWritesMiss_ButOpensNoDeadKey()
    {
        Operation[] ops =
        [
            Op(1, 2, 0, OperationKind.Set, 0.0, 0.1, 200, "T", writes: [("x", "a")]),
            Op(2, 2, 0, OperationKind.Set, 0.2, 0.3, 200, "T", writes: [("x", "b")], opened: "K1"),
            Op(3, 2, 0, OperationKind.ReadOldCookie, 0.31, 0.4, 200, "T", items: [("x", "a")], opened: "K1"), // an older token: no promise of its own writes
            Op(4, 2, 0, OperationKind.Rotate, 1.0, 1.1, 200, "T", opened: "K1"),
            Op(5, 2, 0, OperationKind.ReadOldCookie, 3.0, 3.1, 200, "T", items: [("x", "b")], opened: "K1"),
        ];

        Assert.That(Check(ops, Sessions(("T", [("x", "b")])), tabs: 1), Is.EqualTo(new[] { (ViolationKind.DeadKeyOpened, 5) }));
    }

    [Test]
    public void EveryPlantedViolationInOneHistory_IsReportedOnce()
    {
        Operation[] ops =
        [
            Op(1, 1, 0, OperationKind.SetTwice, 0.0, 0.1, 200, "S", writes: [("x", "a"), ("y", "b")]),
            Op(2, 1, 1, OperationKind.Set, 0.2, 0.3, 200, "S", writes: [("x", "c")], opened: "K1"),
            Op(3, 1, 0, OperationKind.Read, 2.0, 2.1, 200, "S", items: [("x", "a"), ("y", "b")], opened: "K1"), // stale
            Op(4, 1, 1, OperationKind.Rotate, 3.0, 3.1, 200, "S", opened: "K1"),
            Op(5, 1, 0, OperationKind.Read, 5.0, 5.1, 200, "S", items: [("x", "c"), ("y", "b")], opened: "K1"), // dead key
            Op(6, 2, 0, OperationKind.Set, 0.0, 0.1, 200, "T", writes: [("x", "d")], instance: 0),
            Op(7, 2, 0, OperationKind.Read, 0.2, 0.3, 200, "T", opened: "K3", instance: 1), // misses its own write
        ];
        var final = Sessions(("S", [("x", "c")]), ("T", [("x", "d")])); // y (the second commit of #1) is lost

        Assert.That(Check(ops, final, loneTabBrowser: 2), Is.EquivalentTo(new[]
        {
            (ViolationKind.LostWrite, 1), (ViolationKind.StaleRead, 3), (ViolationKind.DeadKeyOpened, 5), (ViolationKind.ReadYourWritesMiss, 7),
        }));
    }

    private static List<(ViolationKind, int)> Check(Operation[] ops, Dictionary<string, IReadOnlyDictionary<string, string>> final, int tabs = 2, int? loneTabBrowser = null)
    {
        var tabsPerBrowser = ops.Select(o => o.Browser).Distinct().ToDictionary(b => b, b => b == loneTabBrowser ? 1 : tabs);
        var violations = new HistoryChecker(new History(ops, tabsPerBrowser, final), Bound).Check();
        foreach (var violation in violations)
        {
            TestContext.Out.WriteLine($"{violation.Kind} #{violation.OperationId}: {violation.Detail}");
        }

        return [.. violations.Select(v => (v.Kind, v.OperationId))];
    }

    private static Operation Op(int id, int browser, int tab, OperationKind kind, double start, double end, int status, string session,
        (string Key, string? Value)[]? writes = null, (string Key, string Value)[]? items = null, string? opened = null, int instance = 0) => new()
    {
        Id = id,
        Browser = browser,
        Tab = tab,
        Instance = instance,
        Kind = kind,
        Start = start,
        End = end,
        Status = status,
        SessionId = session,
        OpenedKey = opened,
        Writes = [.. (writes ?? []).Select(w => new ItemWrite(w.Key, w.Value))],
        Items = kind is OperationKind.Read or OperationKind.ReadOldCookie ? (items ?? []).ToDictionary(i => i.Key, i => i.Value) : null,
    };

    private static Dictionary<string, IReadOnlyDictionary<string, string>> Sessions(params (string Id, (string Key, string Value)[] Items)[] sessions) =>
        sessions.ToDictionary(s => s.Id, s => (IReadOnlyDictionary<string, string>)s.Items.ToDictionary(i => i.Key, i => i.Value));
}

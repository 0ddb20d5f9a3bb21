using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Mvccpb;

namespace Etcd.AspNetCore.Session.Events;

/// <summary>
/// Turns the etcd events of one revision into session events. A rotation is a delete and a put of the same
/// session id in one revision. A delete is an expiry when the deadline the session carried (its lease's
/// second, or its absolute deadline) had come when the event was seen, and a destroy otherwise.
/// </summary>
internal static class SessionEventClassifier
{
    // Allows for clock skew between the instance that wrote the deadline and the one that watches.
    private static readonly TimeSpan ExpirySlack = TimeSpan.FromSeconds(1);

    public static IEnumerable<EtcdSessionEvent> Classify(IReadOnlyList<Event> sameRevision, long revision, DateTimeOffset now)
    {
        var deletes = new Dictionary<string, (SessionHeader? Header, KeyValue? Previous)>(StringComparer.Ordinal);
        var anonymousDeletes = 0;
        var puts = new List<(Event Event, SessionHeader? Header)>();
        foreach (var e in sameRevision)
        {
            if (e.Type == Event.Types.EventType.Delete)
            {
                var header = TryHeader(e.PrevKv);
                if (header is null)
                {
                    anonymousDeletes++;
                }
                else
                {
                    deletes[header.Id] = (header, e.PrevKv);
                }
            }
            else
            {
                puts.Add((e, TryHeader(e.Kv)));
            }
        }

        foreach (var (e, header) in puts)
        {
            if (header is not null && deletes.Remove(header.Id))
            {
                yield return new EtcdSessionEvent(EtcdSessionEventKind.Rotated, header.Id, header.User, revision, now);
            }
            else if (e.Kv.Version == 1)
            {
                yield return new EtcdSessionEvent(EtcdSessionEventKind.Created, header?.Id, header?.User, revision, now);
            }
            else if (e.PrevKv is null || e.PrevKv.Value != e.Kv.Value)
            {
                yield return new EtcdSessionEvent(EtcdSessionEventKind.Changed, header?.Id, header?.User, revision, now);
            }

            // Same value, new lease: a touch that only extended the expiry.
        }

        foreach (var (id, (header, previous)) in deletes)
        {
            var kind = HadExpired(header!, previous!, now) ? EtcdSessionEventKind.Expired : EtcdSessionEventKind.Destroyed;
            yield return new EtcdSessionEvent(kind, id, header!.User, revision, now);
        }

        for (var i = 0; i < anonymousDeletes; i++)
        {
            yield return new EtcdSessionEvent(EtcdSessionEventKind.Destroyed, null, null, revision, now);
        }
    }

    private static bool HadExpired(SessionHeader header, KeyValue previous, DateTimeOffset now)
    {
        return SessionDeadline.IsPast(SessionDeadline.Of(previous.Lease, header.AbsoluteExpiry), now + ExpirySlack);
    }

    private static SessionHeader? TryHeader(KeyValue? kv)
    {
        if (kv is null || kv.Value.IsEmpty)
        {
            return null;
        }

        try
        {
            return SessionEnvelope.Decode(kv.Value.Memory).Header;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

using Etcd.AspNetCore.Session;

namespace EtcdSessionStore.Demo;

/// <summary>
/// The last <see cref="Capacity"/> session events this instance saw (from every instance, through its etcd watch),
/// kept in memory for the pages and <c>GET /events</c>; and whether the watch is running.
/// </summary>
internal sealed class SessionEventRing
{
    public const int Capacity = 50;

    private readonly Lock _lock = new();
    private readonly Queue<EtcdSessionEvent> _events = new(Capacity);
    private string? _problem;

    /// <summary>Why no events arrive right now (etcd unreachable), or <see langword="null"/> while the watch runs.</summary>
    public string? Problem
    {
        get
        {
            lock (_lock)
            {
                return _problem;
            }
        }
    }

    public void Add(EtcdSessionEvent e)
    {
        lock (_lock)
        {
            if (_events.Count == Capacity)
            {
                _events.Dequeue();
            }

            _events.Enqueue(e);
            _problem = null;
        }
    }

    public void WatchFailed(string problem)
    {
        lock (_lock)
        {
            _problem = problem;
        }
    }

    /// <summary>The newest <paramref name="count"/> events, newest first.</summary>
    public IReadOnlyList<EtcdSessionEvent> Latest(int count = Capacity)
    {
        lock (_lock)
        {
            return [.. _events.Reverse().Take(count)];
        }
    }
}

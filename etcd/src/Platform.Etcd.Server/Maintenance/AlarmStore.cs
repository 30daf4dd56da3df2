using Platform.Etcd.Api;

namespace Platform.Etcd.Server.Maintenance;

/// <summary>Active alarms per member (etcd's alarm store), changed through raft. Thread-safe.</summary>
internal sealed class AlarmStore
{
    private readonly Lock _lock = new();
    private readonly List<AlarmMember> _alarms = [];

    public IReadOnlyList<AlarmMember> List()
    {
        lock (_lock)
        {
            return [.. _alarms.Select(a => a.Clone())];
        }
    }

    public bool Has(AlarmType type)
    {
        lock (_lock)
        {
            // A loop, not LINQ: every put and txn asks (the lambda's closure was garbage per call).
            foreach (AlarmMember a in _alarms)
            {
                if (a.Alarm == type)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Raises an alarm; false when it was already raised.</summary>
    public bool Activate(ulong memberId, AlarmType type)
    {
        lock (_lock)
        {
            if (type == AlarmType.None || _alarms.Any(a => a.MemberID == memberId && a.Alarm == type))
            {
                return false;
            }

            _alarms.Add(new AlarmMember { MemberID = memberId, Alarm = type });
            return true;
        }
    }

    public bool Deactivate(ulong memberId, AlarmType type)
    {
        lock (_lock)
        {
            return _alarms.RemoveAll(a => a.MemberID == memberId && a.Alarm == type) > 0;
        }
    }

    public void Restore(IEnumerable<AlarmMember> alarms)
    {
        lock (_lock)
        {
            _alarms.Clear();
            _alarms.AddRange(alarms.Select(a => a.Clone()));
        }
    }
}

namespace Platform.Etcd.Storage.Mvcc;

/// <summary>
/// The revisions of one key, as etcd's keyIndex: a list of generations, each the life of the key
/// from a creating put to the tombstone that deleted it. The last generation is the current one
/// (empty after a delete until the next put). <see cref="TreeIndex"/> keeps the key itself and
/// holds one of these only for keys whose history is more than a single live revision.
/// </summary>
/// <remarks>
/// Example: put@1.0, put@2.0, delete@3.0, put@4.0 gives generations {1.0, 2.0, 3.0(t)} and {4.0}.
/// Compacting at 2 keeps {2.0, 3.0(t)} and {4.0}; at 3 only {4.0} (a generation that ends at or
/// below the compaction revision goes entirely).
/// </remarks>
internal sealed class KeyIndex
{
    /// <summary>The latest revision of the key (put or tombstone).</summary>
    public Revision Modified { get; private set; }

    public List<Generation> Generations { get; } = [];

    public bool IsEmpty => Generations.Count == 0 || (Generations.Count == 1 && Generations[0].IsEmpty);

    public void Put(Revision revision)
    {
        if (revision <= Modified)
        {
            throw new InvalidOperationException($"mvcc: put at {revision} is not after the key's last revision {Modified}");
        }

        if (Generations.Count == 0)
        {
            Generations.Add(new Generation());
        }

        Generation g = Generations[^1];
        if (g.IsEmpty)
        {
            g.Created = revision;
        }

        g.Revisions.Add(revision);
        g.Version++;
        Modified = revision;
    }

    /// <summary>Rebuilds a key known only by its latest put (history before it compacted away).</summary>
    public void Restore(Revision created, Revision modified, long version)
    {
        Generations.Add(new Generation { Created = created, Version = version, Revisions = { modified } });
        Modified = modified;
    }

    /// <summary>
    /// True when the history is one live generation holding a single revision (what
    /// <see cref="Restore"/> builds): <see cref="TreeIndex"/> then keeps it inline.
    /// </summary>
    public bool IsSingleRevision(out Revision created, out Revision modified, out long version)
    {
        if (Generations.Count == 1 && Generations[0].Revisions.Count == 1)
        {
            Generation g = Generations[0];
            created = g.Created;
            modified = g.Revisions[0];
            version = g.Version;
            return true;
        }

        created = default;
        modified = default;
        version = 0;
        return false;
    }

    /// <returns>False when the key is not live (nothing to delete).</returns>
    public bool Tombstone(Revision revision)
    {
        if (IsEmpty || Generations[^1].IsEmpty)
        {
            return false;
        }

        Put(revision);
        Generations.Add(new Generation());
        return true;
    }

    /// <summary>The key's state at <paramref name="atRev"/>: its latest put at or below it, that generation's creation and the version then.</summary>
    public bool TryGet(long atRev, out Revision modified, out Revision created, out long version)
    {
        modified = default;
        created = default;
        version = 0;
        Generation? g = FindGeneration(atRev);
        if (g is null)
        {
            return false;
        }

        int n = g.Walk(r => r.Main > atRev);
        if (n < 0)
        {
            return false;
        }

        modified = g.Revisions[n];
        created = g.Created;
        version = g.Version - (g.Revisions.Count - n - 1);
        return true;
    }

    /// <summary>
    /// Drops history at or below <paramref name="atRev"/> except the newest revision of the
    /// generation live at <paramref name="atRev"/>, which is added to <paramref name="available"/>
    /// (the revisions compaction must keep in the key table).
    /// </summary>
    public void Compact(long atRev, HashSet<Revision> available)
    {
        (int genIdx, int revIndex) = DoCompact(atRev, available);
        Generation g = Generations[genIdx];
        if (!g.IsEmpty)
        {
            if (revIndex != -1)
            {
                g.Revisions.RemoveRange(0, revIndex);
            }

            // A closed generation reduced to its tombstone goes too.
            if (g.Revisions.Count == 1 && genIdx != Generations.Count - 1)
            {
                available.Remove(g.Revisions[0]);
                genIdx++;
            }
        }

        Generations.RemoveRange(0, genIdx);
    }

    /// <summary>What <see cref="Compact"/> would add to <paramref name="available"/>, without changing anything.</summary>
    public void Keep(long atRev, HashSet<Revision> available)
    {
        if (IsEmpty)
        {
            return;
        }

        (int genIdx, int revIndex) = DoCompact(atRev, available);
        Generation g = Generations[genIdx];
        if (!g.IsEmpty && revIndex == g.Revisions.Count - 1 && genIdx != Generations.Count - 1)
        {
            available.Remove(g.Revisions[revIndex]);
        }
    }

    private (int GenIdx, int RevIndex) DoCompact(long atRev, HashSet<Revision> available)
    {
        // Skip the generations that were deleted at or below atRev; stop at the first one that
        // is still live at atRev or was created after it.
        int genIdx = 0;
        Generation g = Generations[0];
        while (genIdx < Generations.Count - 1)
        {
            if (g.Revisions[^1].Main > atRev)
            {
                break;
            }

            genIdx++;
            g = Generations[genIdx];
        }

        int revIndex = g.Walk(r =>
        {
            if (r.Main <= atRev)
            {
                available.Add(r);
                return false;
            }

            return true;
        });
        return (genIdx, revIndex);
    }

    private Generation? FindGeneration(long rev)
    {
        int last = Generations.Count - 1;
        for (int i = last; i >= 0; i--)
        {
            Generation g = Generations[i];
            if (g.IsEmpty)
            {
                continue;
            }

            // A closed generation whose tombstone is at or below rev: the key was deleted then.
            if (i != last && g.Revisions[^1].Main <= rev)
            {
                return null;
            }

            if (g.Revisions[0].Main <= rev)
            {
                return g;
            }
        }

        return null;
    }
}

/// <summary>One life of a key: from its creating put to (in a closed generation) its tombstone.</summary>
internal sealed class Generation
{
    /// <summary>Puts in this generation so far (the tombstone counts too, as in etcd).</summary>
    public long Version { get; set; }

    public Revision Created { get; set; }

    public List<Revision> Revisions { get; init; } = [];

    public bool IsEmpty => Revisions.Count == 0;

    /// <summary>Walks revisions newest first while <paramref name="keepGoing"/> holds; returns the index where it stopped, or -1.</summary>
    public int Walk(Func<Revision, bool> keepGoing)
    {
        for (int i = Revisions.Count - 1; i >= 0; i--)
        {
            if (!keepGoing(Revisions[i]))
            {
                return i;
            }
        }

        return -1;
    }
}

using Platform.Etcd.V2Store.Json;

namespace Platform.Etcd.V2Store.Tests;

public sealed class StoreOperationTests
{
    internal static readonly DateTimeOffset s_now = new(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly IV2Store _store = V2Stores.Create();

    [Fact]
    public void Set_NewKey_CreatesFileAtNextIndex()
    {
        V2Event e = _store.Set("/foo", dir: false, "bar", default, s_now);

        Assert.Equal("""{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":1,"createdIndex":1}}""", V2Json.Serialize(e));
        Assert.True(e.IsCreated);
        Assert.Equal(1UL, e.EtcdIndex);
        Assert.Equal(1UL, _store.Index);
    }

    [Fact]
    public void Set_ExistingKey_ReplacesAndReportsPrevNode()
    {
        _store.Set("/foo", false, "one", default, s_now);

        V2Event e = _store.Set("/foo", false, "two", default, s_now);

        Assert.Equal(
            """{"action":"set","node":{"key":"/foo","value":"two","modifiedIndex":2,"createdIndex":2},"prevNode":{"key":"/foo","value":"one","modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(e));
        Assert.False(e.IsCreated);
    }

    [Fact]
    public void Set_ExistingDirectory_Fails102NotAFile()
    {
        _store.Set("/dir", dir: true, "", default, s_now);

        AssertError(() => _store.Set("/dir", false, "x", default, s_now), 102, "Not a file", "/dir", 1);
    }

    [Fact]
    public void Set_UnderAFile_Fails104NotADirectoryNamingTheFile()
    {
        _store.Set("/a", false, "x", default, s_now);

        AssertError(() => _store.Set("/a/b/c", false, "y", default, s_now), 104, "Not a directory", "/a", 1);
    }

    [Fact]
    public void Set_DeepPath_CreatesParentDirectoriesAtTheSameIndex()
    {
        _store.Set("/a/b/c", false, "v", default, s_now);

        V2Event e = _store.Get("/a", recursive: true, sorted: true, s_now);

        Assert.Equal(
            """{"action":"get","node":{"key":"/a","dir":true,"nodes":[{"key":"/a/b","dir":true,"nodes":[{"key":"/a/b/c","value":"v","modifiedIndex":1,"createdIndex":1}],"modifiedIndex":1,"createdIndex":1}],"modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(e));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("")]
    [InlineData("/..")]
    public void Mutations_OnRoot_Fail107RootReadOnly(string path)
    {
        AssertError(() => _store.Set(path, false, "x", default, s_now), 107, "Root is read only", "/", 0);
        AssertError(() => _store.Delete(path, dir: true, recursive: true, s_now), 107, "Root is read only", "/", 0);
        AssertError(() => _store.Update(path, "", default, s_now), 107, "Root is read only", "/", 0);
        AssertError(() => _store.CompareAndSwap(path, "a", 0, "b", default, s_now), 107, "Root is read only", "/", 0);
    }

    [Fact]
    public void Mutations_OnNamespace_Fail107WithCauseSlash()
    {
        IV2Store store = V2Stores.Create("/0", "/1");

        AssertError(() => store.Delete("/1", dir: true, recursive: true, s_now), 107, "Root is read only", "/", 0);
        AssertError(() => store.Set("/0", dir: true, "", default, s_now), 107, "Root is read only", "/", 0);
        Assert.Equal("/1/x", store.Set("/1/x", false, "v", default, s_now).Node.Key);
    }

    [Fact]
    public void Get_MissingKey_Fails100WithFirstMissingComponent()
    {
        _store.Set("/a/b", false, "v", default, s_now);

        AssertError(() => _store.Get("/a/x/y", false, false, s_now), 100, "Key not found", "/a/x", 1);
        AssertError(() => _store.Get("/foo", false, false, s_now), 100, "Key not found", "/foo", 1);
    }

    [Fact]
    public void Get_ThroughAFile_Fails104()
    {
        _store.Set("/a", false, "v", default, s_now);

        AssertError(() => _store.Get("/a/b", false, false, s_now), 104, "Not a directory", "/a", 1);
    }

    [Fact]
    public void Get_Directory_ListsOneLevelUnlessRecursive()
    {
        _store.Set("/d/sub/leaf", false, "1", default, s_now);
        _store.Set("/d/file", false, "2", default, s_now);

        string flat = V2Json.Serialize(_store.Get("/d", recursive: false, sorted: true, s_now));
        string deep = V2Json.Serialize(_store.Get("/d", recursive: true, sorted: true, s_now));

        Assert.Equal(
            """{"action":"get","node":{"key":"/d","dir":true,"nodes":[{"key":"/d/file","value":"2","modifiedIndex":2,"createdIndex":2},{"key":"/d/sub","dir":true,"modifiedIndex":1,"createdIndex":1}],"modifiedIndex":1,"createdIndex":1}}""",
            flat);
        Assert.Contains("""{"key":"/d/sub/leaf","value":"1","modifiedIndex":1,"createdIndex":1}""", deep, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_Sorted_ListsChildrenInKeyOrder()
    {
        foreach (string name in new[] { "c", "a", "b", "B" })
        {
            _store.Set("/s/" + name, false, name, default, s_now);
        }

        V2Event e = _store.Get("/s", recursive: false, sorted: true, s_now);

        Assert.Equal(["/s/B", "/s/a", "/s/b", "/s/c"], e.Node.Nodes!.Select(n => n.Key));
    }

    [Fact]
    public void Get_HiddenChildren_AreNotListedButReadable()
    {
        _store.Set("/_message", false, "hidden", default, s_now);
        _store.Set("/message", false, "shown", default, s_now);
        _store.Set("/dir/_secret/x", false, "deep", default, s_now);

        V2Event root = _store.Get("/", recursive: true, sorted: true, s_now);

        Assert.Equal(["/dir", "/message"], root.Node.Nodes!.Select(n => n.Key));
        Assert.Empty(root.Node.Nodes![0].Nodes!);
        Assert.Equal("hidden", _store.Get("/_message", false, false, s_now).Node.Value);
    }

    [Fact]
    public void Get_NamespaceRootWithPrefixTrimmed_HasNoKeyNoIndexes()
    {
        IV2Store store = V2Stores.Create("/0", "/1");
        store.Set("/1/foo", false, "bar", default, s_now);

        string json = V2Json.Serialize(store.Get("/1", false, true, s_now), keyPrefix: "/1");

        Assert.Equal("""{"action":"get","node":{"dir":true,"nodes":[{"key":"/foo","value":"bar","modifiedIndex":1,"createdIndex":1}]}}""", json);
    }

    [Fact]
    public void Get_EmptyValue_KeepsValueFieldAndEmptyDirOmitsNodes()
    {
        _store.Set("/empty", false, "", default, s_now);
        _store.Set("/dir", true, "", default, s_now);

        Assert.Equal("""{"action":"get","node":{"key":"/empty","value":"","modifiedIndex":1,"createdIndex":1}}""", V2Json.Serialize(_store.Get("/empty", false, false, s_now)));
        Assert.Equal("""{"action":"get","node":{"key":"/dir","dir":true,"modifiedIndex":2,"createdIndex":2}}""", V2Json.Serialize(_store.Get("/dir", false, false, s_now)));
    }

    [Fact]
    public void Create_ExistingKey_Fails105()
    {
        _store.Create("/foo", false, "one", unique: false, default, s_now);

        AssertError(() => _store.Create("/foo", false, "two", unique: false, default, s_now), 105, "Key already exists", "/foo", 1);
        Assert.Equal("one", _store.Get("/foo", false, false, s_now).Node.Value);
    }

    [Fact]
    public void Create_Unique_NamesKeysByZeroPaddedIndexInOrder()
    {
        _store.Set("/other", false, "x", default, s_now);
        _store.Set("/other", false, "y", default, s_now);

        V2Event first = _store.Create("/queue", false, "Job1", unique: true, default, s_now);
        _store.Set("/other", false, "z", default, s_now);
        V2Event second = _store.Create("/queue", false, "Job2", unique: true, default, s_now);

        Assert.Equal("""{"action":"create","node":{"key":"/queue/00000000000000000003","value":"Job1","modifiedIndex":3,"createdIndex":3}}""", V2Json.Serialize(first));
        Assert.Equal("/queue/00000000000000000005", second.Node.Key);
        Assert.Equal(
            ["/queue/00000000000000000003", "/queue/00000000000000000005"],
            _store.Get("/queue", true, true, s_now).Node.Nodes!.Select(n => n.Key));
    }

    [Fact]
    public void Create_UniqueDirectory_CreatesInOrderDirectory()
    {
        V2Event e = _store.Create("/q", dir: true, "", unique: true, default, s_now);

        Assert.Equal("""{"action":"create","node":{"key":"/q/00000000000000000001","dir":true,"modifiedIndex":1,"createdIndex":1}}""", V2Json.Serialize(e));
    }

    [Fact]
    public void Update_MissingKey_Fails100()
    {
        AssertError(() => _store.Update("/nope", "v", default, s_now), 100, "Key not found", "/nope", 0);
    }

    [Fact]
    public void Update_File_ChangesValueKeepsCreatedIndex()
    {
        _store.Set("/foo", false, "one", default, s_now);

        V2Event e = _store.Update("/foo", "two", default, s_now);

        Assert.Equal(
            """{"action":"update","node":{"key":"/foo","value":"two","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/foo","value":"one","modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(e));
    }

    [Fact]
    public void Update_DirectoryWithValue_Fails102()
    {
        _store.Set("/dir", true, "", default, s_now);

        AssertError(() => _store.Update("/dir", "v", default, s_now), 102, "Not a file", "/dir", 1);
    }

    [Fact]
    public void Update_DirectoryTtl_ReportsNextIndexButKeepsDirectoryModifiedIndex()
    {
        _store.Set("/dir", true, "", default, s_now);

        V2Event e = _store.Update("/dir", "", new V2TtlOptions(TimeSpan.FromSeconds(30)), s_now);

        Assert.Equal(
            """{"action":"update","node":{"key":"/dir","dir":true,"expiration":"2024-01-02T03:04:35Z","ttl":30,"modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/dir","dir":true,"modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(e));
        Assert.Equal(1UL, _store.Get("/dir", false, false, s_now).Node.ModifiedIndex);
        Assert.Equal(2UL, _store.Index);
    }

    [Fact]
    public void CompareAndSwap_ValueMismatch_Fails101WithValueCause()
    {
        _store.Set("/foo", false, "one", default, s_now);

        AssertError(() => _store.CompareAndSwap("/foo", "two", 0, "three", default, s_now), 101, "Compare failed", "[two != one]", 1);
    }

    [Fact]
    public void CompareAndSwap_IndexMismatch_Fails101WithIndexCause()
    {
        _store.Set("/foo", false, "one", default, s_now);
        _store.Set("/foo", false, "one", default, s_now);

        AssertError(() => _store.CompareAndSwap("/foo", "", 1, "three", default, s_now), 101, "Compare failed", "[1 != 2]", 2);
    }

    [Fact]
    public void CompareAndSwap_BothMismatch_Fails101WithBothCauses()
    {
        _store.Set("/foo", false, "one", default, s_now);

        AssertError(() => _store.CompareAndSwap("/foo", "two", 7, "three", default, s_now), 101, "Compare failed", "[two != one] [7 != 1]", 1);
    }

    [Theory]
    [InlineData("one", 0UL)]
    [InlineData("", 1UL)]
    [InlineData("one", 1UL)]
    public void CompareAndSwap_Match_SwapsAndReportsPrevNode(string prevValue, ulong prevIndex)
    {
        _store.Set("/foo", false, "one", default, s_now);

        V2Event e = _store.CompareAndSwap("/foo", prevValue, prevIndex, "two", default, s_now);

        Assert.Equal(
            """{"action":"compareAndSwap","node":{"key":"/foo","value":"two","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/foo","value":"one","modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(e));
    }

    [Fact]
    public void CompareAndSwap_OnDirectory_Fails102()
    {
        _store.Set("/dir", true, "", default, s_now);

        AssertError(() => _store.CompareAndSwap("/dir", "x", 0, "y", default, s_now), 102, "Not a file", "/dir", 1);
    }

    [Fact]
    public void CompareAndSwap_MissingKey_Fails100()
    {
        AssertError(() => _store.CompareAndSwap("/foo", "x", 0, "y", default, s_now), 100, "Key not found", "/foo", 0);
    }

    [Fact]
    public void Delete_File_ReportsDeleteWithoutValue()
    {
        _store.Set("/message", false, "Hello etcd", default, s_now);

        V2Event e = _store.Delete("/message", dir: false, recursive: false, s_now);

        Assert.Equal(
            """{"action":"delete","node":{"key":"/message","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/message","value":"Hello etcd","modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(e));
        AssertError(() => _store.Get("/message", false, false, s_now), 100, "Key not found", "/message", 2);
    }

    [Fact]
    public void Delete_DirectoryWithoutDirFlag_Fails102()
    {
        _store.Set("/dir", true, "", default, s_now);

        AssertError(() => _store.Delete("/dir", dir: false, recursive: false, s_now), 102, "Not a file", "/dir", 1);
    }

    [Fact]
    public void Delete_NonEmptyDirectoryWithoutRecursive_Fails108AndKeepsChildren()
    {
        _store.Set("/dir/a", false, "1", default, s_now);

        AssertError(() => _store.Delete("/dir", dir: true, recursive: false, s_now), 108, "Directory not empty", "/dir", 1);
        Assert.Equal("1", _store.Get("/dir/a", false, false, s_now).Node.Value);
    }

    [Fact]
    public void Delete_Recursive_RemovesTreeAtOneIndex()
    {
        _store.Set("/dir/a/b", false, "1", default, s_now);
        _store.Set("/dir/c", false, "2", default, s_now);

        V2Event e = _store.Delete("/dir", dir: false, recursive: true, s_now);

        Assert.Equal(
            """{"action":"delete","node":{"key":"/dir","dir":true,"modifiedIndex":3,"createdIndex":1},"prevNode":{"key":"/dir","dir":true,"modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(e));
        Assert.Equal(3UL, _store.Index);
        Assert.Empty(_store.Get("/", true, true, s_now).Node.Nodes!);
    }

    [Fact]
    public void CompareAndDelete_Mismatches_Fail101WithEtcdCauses()
    {
        for (int i = 0; i < 8; i++)
        {
            _store.Set("/foo", false, "one", default, s_now);
        }

        AssertError(() => _store.CompareAndDelete("/foo", "two", 0, s_now), 101, "Compare failed", "[two != one]", 8);
        AssertError(() => _store.CompareAndDelete("/foo", "", 1, s_now), 101, "Compare failed", "[1 != 8]", 8);
        AssertError(() => _store.CompareAndDelete("/foo", "two", 1, s_now), 101, "Compare failed", "[two != one] [1 != 8]", 8);
    }

    [Fact]
    public void CompareAndDelete_Match_DeletesWithoutValueInNode()
    {
        _store.Set("/foo", false, "one", default, s_now);

        V2Event e = _store.CompareAndDelete("/foo", "one", 1, s_now);

        Assert.Equal(
            """{"action":"compareAndDelete","node":{"key":"/foo","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/foo","value":"one","modifiedIndex":1,"createdIndex":1}}""",
            V2Json.Serialize(e));
    }

    [Fact]
    public void CompareAndDelete_OnDirectory_Fails102()
    {
        _store.Set("/dir", true, "", default, s_now);

        AssertError(() => _store.CompareAndDelete("/dir", "", 1, s_now), 102, "Not a file", "/dir", 1);
    }

    [Fact]
    public void FailedOperations_LeaveIndexUnchanged()
    {
        _store.Set("/foo", false, "one", default, s_now);

        Assert.Throws<V2StoreException>(() => _store.Create("/foo", false, "x", false, default, s_now));
        Assert.Throws<V2StoreException>(() => _store.CompareAndSwap("/foo", "x", 0, "y", default, s_now));
        Assert.Throws<V2StoreException>(() => _store.Delete("/missing", false, false, s_now));

        Assert.Equal(1UL, _store.Index);
    }

    [Theory]
    [InlineData("//a///b/", "/a/b")]
    [InlineData("a/./b", "/a/b")]
    [InlineData("/a/c/../b", "/a/b")]
    public void Set_UncleanPath_UsesCleanedKey(string path, string key)
    {
        Assert.Equal(key, _store.Set(path, false, "v", default, s_now).Node.Key);
    }

    internal static void AssertError(Action action, int code, string message, string cause, ulong index)
    {
        V2StoreException e = Assert.Throws<V2StoreException>(action);
        Assert.Equal(new V2Error(code, message, cause, index), e.Error);
    }
}

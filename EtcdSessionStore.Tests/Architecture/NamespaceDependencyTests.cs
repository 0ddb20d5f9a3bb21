using System.Reflection;
using System.Text.RegularExpressions;
using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.Architecture;

/// <summary>
/// The library's folders (each an internal namespace, <c>Etcd.AspNetCore.Session.{Folder}</c>, beside the public types of
/// <c>Etcd.AspNetCore.Session</c>) depend on each other one way only, and the session lifecycle's services stay inside it.
/// </summary>
public sealed partial class NamespaceDependencyTests
{
    private const string Root = "Etcd.AspNetCore.Session";
    private const string TopLevel = "(top level)";

    [Test]
    public void LibraryFolders_DependOnEachOther_WithoutACycle()
    {
        var graph = LibraryGraph.Read(RepositoryPaths.Of("EtcdSessionStore"));

        var cycles = graph.Cycles();

        Assert.That(cycles, Is.Empty, "namespace cycles (each edge names a file that makes it):\n" + string.Join("\n", cycles));
    }

    [Test]
    public void DesignDoc_ListsExactlyTheFolderDependencies()
    {
        var listed = DesignTable(File.ReadAllLines(RepositoryPaths.Of("docs", "design.md")));
        var graph = LibraryGraph.Read(RepositoryPaths.Of("EtcdSessionStore"));

        // DependencyInjection/ wires every folder, and every folder uses the top-level files, as the text says.
        var edges = graph.Edges.Where(e => e.From != "DependencyInjection" && e.To != TopLevel).ToList();
        var missing = edges.Where(e => !listed.Contains((e.From, e.To))).Select(e => $"{e.From}/ -> {e.To}/ ({e.File})");
        var stale = listed.Where(l => !edges.Any(e => e.From == l.From && e.To == l.To)).Select(l => $"{l.From}/ -> {l.To}/");

        Assert.Multiple(() =>
        {
            Assert.That(missing, Is.Empty, "folder dependencies docs/design.md does not list");
            Assert.That(stale, Is.Empty, "folder dependencies docs/design.md lists that the sources do not have");
        });
    }

    [Test]
    public void InternalNamespaces_AreNamedAfterTheirFolder()
    {
        var misplaced = LibraryGraph.Read(RepositoryPaths.Of("EtcdSessionStore")).Files
            .Where(f => f.Namespace != Root && f.Namespace != Root + "." + f.Folder)
            .Select(f => $"{f.Path}: {f.Namespace}");

        Assert.That(misplaced, Is.Empty);
    }

    [Test]
    public void OnlyTheSessionLifecycle_TakesSessionRepository()
    {
        // The store (ISessionStore) creates the sessions; everything else takes the services it uses.
        var lifecycle = new[] { typeof(SessionStore) };
        var takers = typeof(EtcdSessionOptions).Assembly.GetTypes()
            .Where(t => OuterMost(t).Namespace != typeof(SessionRepository).Namespace && !lifecycle.Contains(t))
            .Where(t => t.GetConstructors(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
                .Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(SessionRepository))))
            .Select(t => t.FullName);

        Assert.That(takers, Is.Empty);
    }

    [Test]
    public void PartlyQualifiedNames_AreUsesOfTheirFolder()
    {
        var library = Path.Combine(Path.GetTempPath(), "graph-" + Guid.NewGuid().ToString("N"));
        try
        {
            Write(library, "Users/Directory.cs", "namespace Etcd.AspNetCore.Session.Users;\ninternal sealed class Directory { Sessions.Session? s; }\n");
            Write(library, "Sessions/Session.cs", "namespace Etcd.AspNetCore.Session.Sessions;\ninternal sealed class Session { Session.Users.Directory? d; }\n");

            Assert.That(LibraryGraph.Read(library).Cycles(), Has.Some.Contains("Sessions/Session.cs").And.Some.Contains("Users/Directory.cs"));
        }
        finally
        {
            Directory.Delete(library, recursive: true);
        }

        static void Write(string root, string path, string code)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, path))!);
            File.WriteAllText(Path.Combine(root, path), code);
        }
    }

    [Test]
    public void CycleFinder_ReportsACycle()
    {
        var graph = new LibraryGraph([]);
        graph.Add("Sessions", "Users", "a.cs");
        graph.Add("Users", "Storage", "b.cs");
        graph.Add("Storage", "Sessions", "c.cs");
        graph.Add("Storage", "Format", "d.cs");

        Assert.That(graph.Cycles(), Has.Count.EqualTo(1).And.Some.Contains("Sessions -> Users (a.cs) -> Storage (b.cs) -> Sessions (c.cs)"));
    }

    /// <summary>The (folder, folder it uses) pairs of design.md's table whose header is <c>| folder | uses |</c>.</summary>
    private static HashSet<(string From, string To)> DesignTable(string[] lines)
    {
        var pairs = new HashSet<(string, string)>();
        var start = Array.FindIndex(lines, l => l.Replace(" ", "", StringComparison.Ordinal) == "|folder|uses|");
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "design.md has no '| folder | uses |' table");
        foreach (var line in lines.Skip(start + 2).TakeWhile(l => l.StartsWith('|')))
        {
            var cells = line.Split('|');
            foreach (Match from in FolderName().Matches(cells[1]))
            {
                foreach (Match to in FolderName().Matches(cells[2]))
                {
                    pairs.Add((from.Groups[1].Value, to.Groups[1].Value));
                }
            }
        }

        return pairs;
    }

    [GeneratedRegex(@"`(\w+)/`")]
    private static partial Regex FolderName();

    private static Type OuterMost(Type type) => type.DeclaringType is null ? type : OuterMost(type.DeclaringType);

    private sealed record SourceFile(string Path, string Folder, string Namespace, string Code);

    /// <summary>Folder -> folders it uses, read from the source: <c>using</c>s, qualified names, and the public types each folder declares.</summary>
    private sealed partial class LibraryGraph(IReadOnlyList<SourceFile> files)
    {
        private readonly SortedDictionary<string, SortedDictionary<string, string>> _edges = new(StringComparer.Ordinal);

        public IReadOnlyList<SourceFile> Files => files;

        public IEnumerable<(string From, string To, string File)> Edges =>
            _edges.SelectMany(e => e.Value.Select(t => (e.Key, t.Key, t.Value)));

        public static LibraryGraph Read(string library)
        {
            var files = Directory.EnumerateFiles(library, "*.cs", SearchOption.AllDirectories)
                .Select(p => Path.GetRelativePath(library, p).Replace('\\', '/'))
                .Where(p => !p.StartsWith("obj/", StringComparison.Ordinal) && !p.StartsWith("bin/", StringComparison.Ordinal))
                .Select(p =>
                {
                    var text = File.ReadAllText(Path.Combine(library, p));
                    var folder = p.Contains('/', StringComparison.Ordinal) ? p[..p.IndexOf('/', StringComparison.Ordinal)] : TopLevel;
                    return new SourceFile(p, folder, NamespaceDeclaration().Match(text).Groups[1].Value, Strip(text));
                })
                .ToList();

            // Public types live in the product namespace whatever their folder: a use of one is a use of its folder.
            var rootTypes = files.Where(f => f.Namespace == Root)
                .SelectMany(f => TopLevelType().Matches(f.Code).Select(m => (Name: m.Groups[1].Value, f.Folder)))
                .DistinctBy(t => t.Name)
                .ToDictionary(t => t.Name, t => t.Folder, StringComparer.Ordinal);

            // The types each folder's namespace declares, so that a partly qualified name (Sessions.EtcdSession, written
            // inside Etcd.AspNetCore.Session.*) counts as a use of its folder.
            var folderTypes = files.Where(f => f.Namespace == Root + "." + f.Folder)
                .SelectMany(f => TopLevelType().Matches(f.Code).Select(m => (f.Folder, Name: m.Groups[1].Value)))
                .ToHashSet();

            var graph = new LibraryGraph(files);

            // The top-level files (options, errors, defaults) are the vocabulary every folder shares; the options
            // name the serializer contract they configure, so their own uses are not edges.
            foreach (var file in files.Where(f => f.Folder != TopLevel))
            {
                foreach (Match m in QualifiedUse().Matches(file.Code))
                {
                    graph.Add(file.Folder, m.Groups[1].Value, file.Path);
                }

                foreach (Match m in PartlyQualifiedUse().Matches(file.Code))
                {
                    if (folderTypes.Contains((m.Groups[1].Value, m.Groups[2].Value)))
                    {
                        graph.Add(file.Folder, m.Groups[1].Value, file.Path);
                    }
                }

                foreach (Match m in Identifier().Matches(file.Code))
                {
                    if (rootTypes.TryGetValue(m.Value, out var folder))
                    {
                        graph.Add(file.Folder, folder, file.Path);
                    }
                }
            }

            return graph;
        }

        public void Add(string from, string to, string file)
        {
            if (from == to)
            {
                return;
            }

            if (!_edges.TryGetValue(from, out var targets))
            {
                _edges[from] = targets = new SortedDictionary<string, string>(StringComparer.Ordinal);
            }

            targets.TryAdd(to, file);
        }

        /// <summary>One cycle per strongly connected group of folders, as a path that names the file behind each edge.</summary>
        public List<string> Cycles()
        {
            var cycles = new List<string>();
            var reported = new HashSet<string>(StringComparer.Ordinal);
            foreach (var start in _edges.Keys)
            {
                if (reported.Contains(start) || PathBack(start, start, []) is not { } path)
                {
                    continue;
                }

                reported.UnionWith(path.Select(p => p.To));
                cycles.Add(start + string.Concat(path.Select(p => $" -> {p.To} ({p.File})")));
            }

            return cycles;
        }

        private List<(string To, string File)>? PathBack(string from, string target, HashSet<string> seen)
        {
            if (!_edges.TryGetValue(from, out var targets))
            {
                return null;
            }

            foreach (var (to, file) in targets)
            {
                if (to == target)
                {
                    return [(to, file)];
                }

                if (seen.Add(to) && PathBack(to, target, seen) is { } rest)
                {
                    return [(to, file), .. rest];
                }
            }

            return null;
        }

        private static string Strip(string text) => Literal().Replace(text, "\"\"");

        [GeneratedRegex(@"^namespace\s+([\w.]+)", RegexOptions.Multiline)]
        private static partial Regex NamespaceDeclaration();

        [GeneratedRegex(@"^(?:(?:public|internal|static|sealed|abstract|partial|readonly)\s+)+(?:class|record struct|record|struct|interface|enum)\s+(\w+)", RegexOptions.Multiline)]
        private static partial Regex TopLevelType();

        [GeneratedRegex(@"\bEtcd\.AspNetCore\.Session\.(\w+)\b")]
        private static partial Regex QualifiedUse();

        // Folder.Type, also as Session.Folder.Type or AspNetCore.Session.Folder.Type: the names C# resolves from inside the product namespace.
        [GeneratedRegex(@"(?<![\w.])(?:(?:AspNetCore\.)?Session\.)?(\w+)\.(\w+)\b")]
        private static partial Regex PartlyQualifiedUse();

        [GeneratedRegex(@"(?<![\w.])[A-Z]\w*")]
        private static partial Regex Identifier();

        // Comments and string literals name things without using them.
        [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|"""""".*?""""""|@""(?:[^""]|"""")*""|""(?:[^""\\\n]|\\.)*""", RegexOptions.Singleline)]
        private static partial Regex Literal();
    }
}

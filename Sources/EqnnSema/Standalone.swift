import EqnnDiagnostics
import EqnnGroups
import EqnnSyntax

/// Groups and representations written on the command line (`eqnnc hom`),
/// each text its own source for diagnostics.
public enum Standalone {
    public struct Result {
        public var group: Group?
        public var reps: [Rep?]
        /// Diagnostics with the source each belongs to.
        public var diagnostics: [(SourceFile, [Diagnostic])]
    }

    public static func resolve(group groupSource: SourceFile, reps repSources: [SourceFile]) -> Result {
        var diagnostics: [(SourceFile, [Diagnostic])] = []
        let (groupExpr, groupSyntax) = Parser.parseGroup(groupSource)
        var groups = GroupResolver()
        // A syntax error (trailing text after a complete expression too) leaves nothing to resolve.
        let group = groupSyntax.contains(where: { $0.severity == .error }) ? nil : groupExpr.flatMap { groups.resolve($0) }
        diagnostics.append((groupSource, groupSyntax + groups.diagnostics))
        groups.diagnostics = []
        var reps: [Rep?] = []
        for source in repSources {
            let (expr, syntax) = Parser.parseRep(source)
            var found = syntax
            var rep: Rep? = nil
            if let expr, let group, !syntax.contains(where: { $0.severity == .error }) {
                var resolver = RepResolver(group: group, repDeclarations: [:], groups: groups)
                rep = resolver.resolve(expr)
                found += resolver.diagnostics
            }
            diagnostics.append((source, found))
            reps.append(rep)
        }
        return Result(group: group, reps: reps, diagnostics: diagnostics)
    }
}

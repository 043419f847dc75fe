import EqnnDiagnostics
import EqnnSyntax

/// A "did you mean" note with its fix-it, when a candidate is close enough.
func didYouMean(_ name: Identifier, among candidates: [String]) -> (note: String, fixIt: FixIt)? {
    closestMatch(to: name.text, in: candidates).map { ("did you mean '\($0)'?", FixIt(span: name.span, replacement: $0)) }
}

/// "did you mean" support: the closest candidate within a small edit distance.
func closestMatch(to word: String, in candidates: [String]) -> String? {
    let limit = word.count / 3  // short names: only a difference of case
    var best: (String, Int)? = nil
    // Sorted so that ties resolve the same way in every run (dictionary order is not stable).
    for candidate in Set(candidates).sorted() {
        let d = editDistance(word.lowercased(), candidate.lowercased())
        if d <= limit, d < (best?.1 ?? Int.max) { best = (candidate, d) }
    }
    return best?.0
}

/// Edit distance counting insertions, deletions, substitutions and swaps of
/// adjacent letters ("reul" is one step from "relu").
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a), y = Array(b)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var table = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in 0...x.count { table[i][0] = i }
    for j in 0...y.count { table[0][j] = j }
    for i in 1...x.count {
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
            }
        }
    }
    return table[x.count][y.count]
}

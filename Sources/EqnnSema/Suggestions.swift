/// "did you mean" support: the closest candidate within a small edit distance.
func closestMatch(to word: String, in candidates: [String]) -> String? {
    let limit = word.count / 3  // short names: only a difference of case
    var best: (String, Int)? = nil
    for candidate in candidates {
        let d = editDistance(word.lowercased(), candidate.lowercased())
        if d <= limit, d < (best?.1 ?? Int.max) { best = (candidate, d) }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a), y = Array(b)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous = Array(0...y.count)
    for i in 1...x.count {
        var row = [i] + Array(repeating: 0, count: y.count)
        for j in 1...y.count {
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        previous = row
    }
    return previous[y.count]
}

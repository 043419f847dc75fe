/// Usage texts, one per command.
enum Help {
    static let main = """
    usage: eqnnc FILE [--format text|json]        check FILE (same as 'eqnnc check FILE')
           eqnnc check FILE [--format text|json]  diagnostics, then each network's parameter table
           eqnnc hom GROUP FROM TO [--basis]      explore Hom_G(FROM, TO): dimension and basis
           eqnnc help [COMMAND] | --help | --version

    Exit status: 0 without errors, 1 when the input has errors, 2 on bad usage.
    Run 'eqnnc help check' or 'eqnnc help hom' for details.

    """

    static let check = """
    usage: eqnnc check FILE [--format text|json]

    Parses and type-checks FILE (.eqnn), prints every diagnostic as
    file:line:col: severity: message, and for each network that checks, a table:
    every layer's representation, dimension, equivariant weights next to the
    dense count, biases, and the totals.

      --format json   the same as JSON: networks[].layers[] with in_dim, out_dim,
                      weights, dense_weights, bias; diagnostics[] with severity,
                      line, column, message, notes, fixits

    """

    static let hom = """
    usage: eqnnc hom GROUP FROM TO [--basis] [--format text|json]

    The space of equivariant linear maps Hom_GROUP(FROM, TO), solved exactly.
    Examples:
      eqnnc hom 'O(3)' 'V^2' 'V'
      eqnnc hom 'S(5) x O(3)' 'V(S(5))*V(O(3))' 'V(O(3))' --basis

      --basis         print a basis (integer matrices, TO rows by FROM columns)
      --format json   {"dim": N, "from_dim": ..., "to_dim": ..., "basis": [[[row, col, value], ...], ...]}

    """

    static let topics = ["check": check, "hom": hom]
}

/// The part of every generated module that does not depend on the network:
/// one torch.nn.Module per op of the graph IR (docs/graph-ir.md), with the
/// op's index tables kept on the CPU in their structured (sparse) form and
/// moved to the input's device and dtype on first use, the normalizer, and
/// safetensors reading and writing without the `safetensors` package. The ops
/// are TorchScript (typed attributes, no closures), so that the module scripts.
enum Runtime {
    static let source = #"""
def _i32(text):
    """A long table of int32 (little-endian, in base64) as an int64 tensor."""
    data = array.array("i", base64.b64decode(text))
    if sys.byteorder == "big":
        data.byteswap()
    return torch.frombuffer(data, dtype=torch.int32).long()


def _f64(text):
    """A long table of float64 (little-endian, in base64) as a tensor."""
    data = array.array("d", base64.b64decode(text))
    if sys.byteorder == "big":
        data.byteswap()
    return torch.frombuffer(data, dtype=torch.float64).clone()


# What the generated network hands the ops' constructors, every field named.
# A pair basis: small dense matrices (entry e is B_j[e][r[e], c[e]] = values[e]),
# a family of permutations (row r of matrix j reads x[permutation[j * rows + r]]
# times weights[j]), or the IR's operator terms (gathers slot <- value * x[column],
# scatters z[row] += value * slot).
_DenseBasis = collections.namedtuple("_DenseBasis", "count rows columns j r c values")
_PermutationBasis = collections.namedtuple("_PermutationBasis", "count rows columns permutation weights")
_TermBasis = collections.namedtuple("_TermBasis", "count rows columns slots gather_slot gather_column gather_value "
                                                  "scatter_slot scatter_row scatter_value")
# A block of a linear op: its output and input copies, its pair basis, and theta's
# coefficient (o, i, j) at first + o * stride + i * count + j.
_LinearBlock = collections.namedtuple("_LinearBlock", "out_offset out_copies out_len in_offset in_copies in_len basis first stride")
# A block of a bilinear op: the same, with the offsets of its source copies and the IR's order.
_BilinearBlock = collections.namedtuple("_BilinearBlock", "out_offset out_copies out_len in_offset in_copies in_len sources first "
                                                          "stride contracts")
_NormedBlock = collections.namedtuple("_NormedBlock", "offset length")
_Field = collections.namedtuple("_Field", "offset length centred")


class _Op(torch.nn.Module):
    """An op of the graph IR. Its tables are CPU tensors (float64 values,
    int64 indices), not buffers: so .to("cuda"), .double() and .float() never
    round them. Eager modules copy them once per (device, dtype) on first use;
    scripted and traced ones convert them in the graph at every call."""

    _tables: Dict[str, torch.Tensor]
    __jit_ignored_attributes__ = ["_moved"]

    def __init__(self):
        super().__init__()
        self._tables: Dict[str, torch.Tensor] = {}
        self._moved = {}

    def _table(self, name, values, dtype):
        self._tables[name] = torch.as_tensor(values, dtype=dtype).clone()

    def _converted(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        out: Dict[str, torch.Tensor] = {}
        for name, t in self._tables.items():
            out[name] = t.to(x.device, x.dtype) if t.is_floating_point() else t.to(x.device)
        return out

    @torch.jit.unused
    def _cached(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        key = (x.device, x.dtype)
        if key not in self._moved:
            self._moved[key] = self._converted(x)
        return self._moved[key]

    def _get(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        # A traced graph is the same at every call: a cache would record the copies once.
        if torch.jit.is_scripting() or torch.jit.is_tracing():
            return self._converted(x)
        return self._cached(x)


def _pick(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x[..., index] (flattened): TorchScript indexes after an ellipsis only by slices."""
    return x.index_select(x.dim() - 1, index.reshape(-1))


def _bucketed_sums(targets, sources, values, size, width):
    """out[t] = sum of value * x[source] over the entries with target t, as gathers and
    sums that export to ONNX with any batch (index_add does not): the targets in buckets
    of similar fan (entries per target, up to a power of two), each bucket a gather of
    (targets, fan) entries padded with index `width` (a zero appended to x) and weight 0,
    so at most twice the entries; then `order` puts the buckets' sums back in target order.
    Returns ([(index, weights)] per bucket, order)."""
    as_list = lambda v: v.tolist() if torch.is_tensor(v) else list(v)
    rows = [[] for _ in range(size)]
    for t, c, v in zip(as_list(targets), as_list(sources), as_list(values)):
        rows[t].append((c, v))
    by_fan = {}
    for t, r in enumerate(rows):
        by_fan.setdefault(1 << max(0, len(r) - 1).bit_length(), []).append(t)
    buckets, position = [], [0] * size
    at = 0
    for fan in sorted(by_fan):
        members = by_fan[fan]
        fan = max(1, max(len(rows[t]) for t in members))
        index = [[c for c, _ in rows[t]] + [width] * (fan - len(rows[t])) for t in members]
        weights = [[v for _, v in rows[t]] + [0.0] * (fan - len(rows[t])) for t in members]
        buckets.append((index, weights))
        for t in members:
            position[t] = at
            at += 1
    return buckets, position


def _summed(x: torch.Tensor, t: Dict[str, torch.Tensor], name: str, buckets: List[Tuple[int, int]]) -> torch.Tensor:
    """The sums of `_bucketed_sums` (tables name + "i"/"w" + bucket, name + "order") of x's last axis."""
    lead = list(x.shape[:-1])
    padded = torch.cat([x, x.new_zeros(lead + [1])], dim=-1)
    sums: List[torch.Tensor] = []
    for b in range(len(buckets)):
        count, fan = buckets[b]
        picked = _pick(padded, t[name + "i" + str(b)]).reshape(lead + [count, fan])
        sums.append((picked * t[name + "w" + str(b)]).sum(-1))
    return _pick(torch.cat(sums, dim=-1), t[name + "order"])


def _place(pieces: Dict[int, torch.Tensor], places: List[Tuple[int, int]], dim: int, like: torch.Tensor) -> torch.Tensor:
    """Concatenates the pieces (by offset) along the last axis into `dim`
    coordinates, zeros where no piece lands; `places` are the (offset, width)
    of the pieces in order (Python ints, so that a traced module does not
    branch on tensor sizes)."""
    lead = list(like.shape[:-1])
    parts: List[torch.Tensor] = []
    at = 0
    for offset, width in places:
        if offset > at:
            parts.append(like.new_zeros(lead + [offset - at]))
        parts.append(pieces[offset])
        at = offset + width
    if at < dim:
        parts.append(like.new_zeros(lead + [dim - at]))
    return torch.cat(parts, dim=-1)


def _places(blocks):
    """The sorted distinct (offset, width) of blocks' outputs (offset, copies, length, ...)."""
    return sorted({(b[0], b[1] * b[2]) for b in blocks})


class _Linear(_Op):
    """y = W x, W = sum_j Theta_j (x) B_j block by block. Where eqnnc's plan
    expands W (`dense`), W is formed once per call (`weight`) and applied as
    one matrix product; otherwise every pair basis is applied to the input
    copies and the channel mixing Theta follows as one einsum per block. A
    pair basis is kept by kind: 0 small dense matrices (a `_DenseBasis`), 1 a
    family of permutations (`_PermutationBasis`), 2 the IR's operator terms
    (`_TermBasis`, its gathers and scatters as `_bucketed_sums`; the tuple's
    last two fields index `buckets`)."""

    _tables: Dict[str, torch.Tensor]
    bases: List[Tuple[int, int, int, int, int, int, int]]
    buckets: List[List[Tuple[int, int]]]
    blocks: List[Tuple[int, int, int, int, int, int, int]]
    places: List[Tuple[int, int]]

    def __init__(self, in_dim, out_dim, dense, bases, blocks):
        super().__init__()
        self.in_dim, self.out_dim, self.dense = in_dim, out_dim, dense
        self.bases, self.buckets = [], []
        basis_tables = {}  # basis index -> the names of its tables
        for k, basis in enumerate(bases):
            before = set(self._tables)
            if isinstance(basis, _DenseBasis):
                count, rows, columns, js, rs, cs, vs = basis
                b = torch.zeros(count, rows, columns, dtype=torch.float64)
                b[torch.as_tensor(js, dtype=torch.int64), torch.as_tensor(rs, dtype=torch.int64), torch.as_tensor(cs, dtype=torch.int64)] = torch.as_tensor(vs, dtype=torch.float64)
                self._tables[f"b{k}"] = b
                self.bases.append((0, count, rows, columns, 0, 0, 0))
            elif isinstance(basis, _PermutationBasis):
                count, rows, columns, permutation, weights = basis
                self._table(f"p{k}", permutation, torch.int64)
                self._tables[f"w{k}"] = torch.as_tensor(weights, dtype=torch.float64).repeat_interleave(rows)
                self.bases.append((1, count, rows, columns, 0, 0, 0))
            else:
                count, rows, columns, slots, g_slot, g_col, g_val, s_slot, s_jr, s_val = basis
                for name, (targets, sources, values, size, width) in (("g", (g_slot, g_col, g_val, slots, columns)),
                                                                      ("s", (s_jr, s_slot, s_val, count * rows, slots))):
                    buckets, order = _bucketed_sums(targets, sources, values, size, width)
                    for b, (index, weights) in enumerate(buckets):
                        self._table(f"{name}{k}i{b}", index, torch.int64)
                        self._table(f"{name}{k}w{b}", weights, torch.float64)
                    self._table(f"{name}{k}order", order, torch.int64)
                    self.buckets.append([(len(index), len(index[0])) for index, _ in buckets])
                self.bases.append((2, count, rows, columns, slots, len(self.buckets) - 2, len(self.buckets) - 1))
            basis_tables[k] = set(self._tables) - before
        if dense:  # `weight` reads every pair basis as dense matrices: the others applied to the identity, once
            for k, (kind, count, rows, columns, _, _, _) in enumerate(self.bases):
                if kind != 0:
                    eye = torch.eye(columns, dtype=torch.float64).reshape(columns, 1, columns)
                    b = self._applied(self._tables, k, eye).reshape(columns, count, rows).permute(1, 2, 0)
                    self._tables[f"b{k}"] = b.contiguous()
                    self.bases[k] = (0, count, rows, columns, 0, 0, 0)
                    for name in basis_tables[k]:  # its gathers and scatters, no longer read
                        del self._tables[name]
        self.blocks = []
        for n, (out_offset, out_copies, out_len, in_offset, in_copies, in_len, basis, first, stride) in enumerate(blocks):
            count = self.bases[basis][1]
            self._table(f"theta{n}", [[[first + o * stride + i * count + j for j in range(count)]
                                       for i in range(in_copies)] for o in range(out_copies)], torch.int64)
            self.blocks.append((out_offset, out_copies, out_len, in_offset, in_copies, in_len, basis))
        self.places = _places(self.blocks)

    def _applied(self, t: Dict[str, torch.Tensor], basis: int, xr: torch.Tensor) -> torch.Tensor:
        """z[..., i, j * rows + r] = (B_j xr[..., i, :])_r for xr (..., copies, columns)."""
        kind, count, rows, _, _, gather, scatter = self.bases[basis]
        k = str(basis)
        lead = list(xr.shape[:-1])
        if kind == 0:
            return torch.einsum("jrc,...ic->...ijr", [t["b" + k], xr]).reshape(lead + [count * rows])
        if kind == 1:
            return _pick(xr, t["p" + k]) * t["w" + k]
        g = _summed(xr, t, "g" + k, self.buckets[gather])
        return _summed(g, t, "s" + k, self.buckets[scatter])

    def weight(self, theta: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """W, (out_dim, in_dim) as torch.nn.Linear keeps it, in like's dtype and device."""
        t = self._get(like)
        w = like.new_zeros([self.out_dim, self.in_dim])
        for n in range(len(self.blocks)):
            out_offset, out_copies, out_len, in_offset, in_copies, in_len, basis = self.blocks[n]
            count, rows, columns = self.bases[basis][1], self.bases[basis][2], self.bases[basis][3]
            b = t["b" + str(basis)]  # dense (see __init__)
            # One matrix product (torch's einsum takes a slow path here, backwards above all).
            mixing = theta[t["theta" + str(n)]].to(like.dtype).reshape(out_copies * in_copies, count)
            block = (mixing @ b.reshape(count, rows * columns)).reshape(out_copies, in_copies, rows, columns)
            block = block.permute(0, 2, 1, 3).reshape(out_copies * out_len, in_copies * in_len)
            w = w + torch.nn.functional.pad(block, [in_offset, self.in_dim - in_offset - in_copies * in_len,
                                                    out_offset, self.out_dim - out_offset - out_copies * out_len])
        return w

    def forward(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        if self.dense:  # torch's linear: x @ W.t() is several times slower on batched grids
            return torch.nn.functional.linear(x, self.weight(theta, x))
        t = self._get(x)
        lead = list(x.shape[:-1])
        sums: Dict[int, torch.Tensor] = {}
        for n in range(len(self.blocks)):
            out_offset, out_copies, out_len, in_offset, in_copies, in_len, basis = self.blocks[n]
            count, rows = self.bases[basis][1], self.bases[basis][2]
            xr = x[..., in_offset:in_offset + in_copies * in_len].reshape(lead + [in_copies, in_len])
            z = self._applied(t, basis, xr).reshape(lead + [in_copies, count, rows])
            y = torch.einsum("oij,...ijr->...or", [theta[t["theta" + str(n)]].to(x.dtype), z])
            y = y.reshape(lead + [out_copies * out_len])
            sums[out_offset] = sums[out_offset] + y if out_offset in sums else y
        return _place(sums, self.places, self.out_dim, x)


class _Bias(_Op):
    """y = x + sum_k theta_k b_k."""

    def __init__(self, dim, ks, rows, values):
        super().__init__()
        self.dim = dim
        self._table("k", ks, torch.int64)
        self._table("row", rows, torch.int64)
        self._table("v", values, torch.float64)

    def forward(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        t = self._get(x)
        b = x.new_zeros([self.dim]).index_add(0, t["row"], theta[t["k"]].to(x.dtype) * t["v"])
        return x + b


class _Bilinear(_Op):
    """y = x + W(x) x: block (o, i) of W(x) is sum_s theta(o, i, s) X_s, X_s a
    source copy of x read as a (dim S x dim R) matrix; each block in the order
    the IR chose (contracting the sources with the inputs first, or mixing first)."""

    _tables: Dict[str, torch.Tensor]
    blocks: List[Tuple[int, int, int, int, int, int, int, bool]]
    places: List[Tuple[int, int]]

    def __init__(self, dim, blocks):
        super().__init__()
        self.dim = dim
        self.blocks = []
        for n, (out_offset, out_copies, out_len, in_offset, in_copies, in_len, sources, first, stride, contracts) in enumerate(blocks):
            self._table(f"src{n}", [[s + e for e in range(out_len * in_len)] for s in sources], torch.int64)
            self._table(f"theta{n}", [[[first + o * stride + i * len(sources) + s for s in range(len(sources))]
                                       for i in range(in_copies)] for o in range(out_copies)], torch.int64)
            self.blocks.append((out_offset, out_copies, out_len, in_offset, in_copies, in_len, len(sources), contracts))
        self.places = _places(self.blocks)

    def forward(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        t = self._get(x)
        lead = list(x.shape[:-1])
        pieces: Dict[int, torch.Tensor] = {}
        for n in range(len(self.blocks)):
            out_offset, out_copies, out_len, in_offset, in_copies, in_len, nsrc, contracts = self.blocks[n]
            sources = _pick(x, t["src" + str(n)]).reshape(lead + [nsrc, out_len, in_len])
            xr = x[..., in_offset:in_offset + in_copies * in_len].reshape(lead + [in_copies, in_len])
            w = theta[t["theta" + str(n)]].to(x.dtype)
            # The IR's order (BilinearBlock.contractsFirst): mix the input copies first, or contract them with the sources.
            if not contracts:
                mixed = torch.einsum("ois,...ic->...osc", [w, xr])
                y = torch.einsum("...osc,...src->...or", [mixed, sources])
            else:
                products = torch.einsum("...src,...ic->...isr", [sources, xr])
                y = torch.einsum("ois,...isr->...or", [w, products])
            y = y.reshape(lead + [out_copies * out_len])
            pieces[out_offset] = pieces[out_offset] + y if out_offset in pieces else y
        return x + _place(pieces, self.places, self.dim, x)


class _Gate(_Op):
    """Scalars through silu, each gated block times sigmoid of its gate; the gates dropped:
    y[c] = x[c] sigmoid(x[source[c]]) keep[c] (the IR's Gate.sigmoidSources and kept)."""

    def __init__(self, out_dim, source, keep):
        super().__init__()
        self.out_dim = out_dim
        self._table("source", source, torch.int64)
        self._table("keep", keep, torch.float64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self._get(x)
        return x[..., :self.out_dim] * torch.sigmoid(_pick(x, t["source"])) * t["keep"]


class _Norm(_Op):
    """Scalars through silu, each block x -> x sigmoid(|x|), the rest unchanged."""

    buckets: List[Tuple[int, int]]

    def __init__(self, dim, source, touched, blocks):
        """source, touched: the IR's Norm.sigmoidSources and touched; blocks: whose norms `source` reads after x."""
        super().__init__()
        self.dim, self.count = dim, len(blocks)
        block_of = [b for b, (offset, length) in enumerate(blocks) for _ in range(length)]
        members = [c for offset, length in blocks for c in range(offset, offset + length)]
        self._table("source", source, torch.int64)
        self._table("touched", touched, torch.float64)
        # Each block's sum of squares, as gathers and sums (`_bucketed_sums`).
        buckets, order = _bucketed_sums(block_of, members, [1.0] * len(members), len(blocks), dim)
        for b, (index, weights) in enumerate(buckets):
            self._table(f"ni{b}", index, torch.int64)
            self._table(f"nw{b}", weights, torch.float64)
        self._table("norder", order, torch.int64)
        self.buckets = [(len(index), len(index[0])) for index, _ in buckets]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self._get(x)
        values = x
        if self.count > 0:  # x and the norms, which `source` indexes after x
            values = torch.cat([x, _summed(x * x, t, "n", self.buckets).sqrt()], dim=-1)
        factor = torch.sigmoid(_pick(values, t["source"]))
        return x * (1 + t["touched"] * (factor - 1))


class _BatchNorm(_Op):
    """Batchnorm per field (docs/graph-ir.md): y = gamma (x - mu) / sqrt(sigma2 + eps) + beta,
    statistics shared by a field's coordinates and all positions; mu = 0 and no
    beta on fields that are not centred (sigma2 is then the mean square). In
    training mode the batch's statistics, and the running ones move towards
    them by `momentum`; in eval mode the running ones."""

    def __init__(self, dim, fields, epsilon, momentum):
        super().__init__()
        self.dim, self.count, self.epsilon, self.momentum = dim, len(fields), epsilon, momentum
        field_of, centred = [0] * dim, []
        for f, (offset, length, is_centred) in enumerate(fields):
            for c in range(offset, offset + length):
                field_of[c] = f
            if is_centred:
                centred.append(f)
        self.centred_count = len(centred)
        self._table("field_of", field_of, torch.int64)
        self._table("centred", centred, torch.int64)
        self._table("length", [length for _, length, _ in fields], torch.float64)
        # Centred values placed among all fields by a product, not index_copy (which ONNX export refuses).
        self._table("placing", [[1.0 if c == f else 0.0 for c in centred] for f in range(len(fields))], torch.float64)
        self._table("is_centred", [1.0 if f in centred else 0.0 for f in range(len(fields))], torch.float64)

    def forward(self, x: torch.Tensor, theta: torch.Tensor, statistics: torch.Tensor) -> torch.Tensor:
        t = self._get(x)
        f, nc = self.count, self.centred_count
        gamma = theta[:f].to(x.dtype)
        beta = t["placing"] @ theta[f:f + nc].to(x.dtype)
        if self.training:
            rows = x.reshape(-1, self.dim)
            n = rows.shape[0] * t["length"]
            sums = x.new_zeros([f]).index_add(0, t["field_of"], rows.sum(0))
            mean = sums / n * t["is_centred"]
            variance = x.new_zeros([f]).index_add(0, t["field_of"], ((rows - mean[t["field_of"]]) ** 2).sum(0)) / n
            with torch.no_grad():
                m = self.momentum
                statistics[:nc] = (1 - m) * statistics[:nc] + m * mean[t["centred"]].detach().to(statistics.dtype)
                statistics[nc:] = (1 - m) * statistics[nc:] + m * variance.detach().to(statistics.dtype)
        else:
            mean = t["placing"] @ statistics[:nc].to(x.dtype)
            variance = statistics[nc:].to(x.dtype)
        scale = gamma / torch.sqrt(variance + self.epsilon)
        return (x - mean[t["field_of"]]) * scale[t["field_of"]] + beta[t["field_of"]]


class _Pointwise(_Op):
    """One function on every coordinate (with the IR's constants _LEAKY_SLOPE and _SOFTPLUS_THRESHOLD)."""

    def __init__(self, function):
        super().__init__()
        self.function = function
        self.slope, self.threshold = _LEAKY_SLOPE, _SOFTPLUS_THRESHOLD  # attributes: TorchScript reads no globals

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.function
        if f == "relu":
            return torch.relu(x)
        if f == "leaky_relu":
            return torch.nn.functional.leaky_relu(x, self.slope)
        if f == "tanh":
            return torch.tanh(x)
        if f == "sigmoid":
            return torch.sigmoid(x)
        if f == "silu":
            return torch.nn.functional.silu(x)
        if f == "gelu":
            return torch.nn.functional.gelu(x)
        if f == "softplus":
            return torch.nn.functional.softplus(x, 1.0, self.threshold)
        return x


class _WrapPad(torch.autograd.Function):
    """Circular padding by r along an axis (r <= the axis' extent), whose backward folds
    the wrapped strips back into one copy of the gradient: torch.cat of slices would
    give each slice a zeroed gradient of the whole input, and add them."""

    @staticmethod
    def forward(ctx, x, axis, r):
        ctx.axis, ctx.r = axis, r
        n = x.shape[axis]
        return torch.cat([x.narrow(axis, n - r, r), x, x.narrow(axis, 0, r)], dim=axis)

    @staticmethod
    def backward(ctx, g):
        axis, r = ctx.axis, ctx.r
        n = g.shape[axis] - 2 * r
        dx = g.narrow(axis, r, n).clone()
        dx.narrow(axis, 0, r).add_(g.narrow(axis, n + r, r))
        dx.narrow(axis, n - r, r).add_(g.narrow(axis, 0, r))
        return dx, None, None


class _Convolution(_Op):
    """Grid networks: the linear op on every position's neighbourhood
    (channel-major, the kernel^d offsets row-major, zeros or the wrapped grid
    outside). Its W is formed once per call from theta and the pair bases and
    run as torch's convolution, so memory and time are a plain CNN's of the
    same shapes. x: (batch, extents..., channels)."""

    def __init__(self, kernel, dimension, circular, linear):
        super().__init__()
        self.kernel, self.dimension, self.circular = kernel, dimension, circular
        self.linear = linear
        d = dimension
        # Explicit axes (ONNX has no negative ones): channels first and back.
        self.first = [0, d + 1] + list(range(1, d + 1))
        self.last = [0] + list(range(2, d + 2)) + [1]
        self.shape = [linear.out_dim, linear.in_dim // kernel ** d] + [kernel] * d  # no -1: ONNX needs the kernel's shape

    @torch.jit.unused
    def _wrapped(self, x: torch.Tensor, axis: int, r: int) -> torch.Tensor:
        return _WrapPad.apply(x, axis, r)

    def forward(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        d, r = self.dimension, self.kernel // 2
        padding = r
        if r > 0 and self.circular:
            for axis in range(1, 1 + d):
                n = x.shape[axis]
                if n >= r and not (torch.jit.is_scripting() or torch.jit.is_tracing()):
                    x = self._wrapped(x, axis, r)
                elif n >= r:  # the same as slices, for TorchScript and ONNX
                    x = torch.cat([x.narrow(axis, n - r, r), x, x.narrow(axis, 0, r)], dim=axis)
                else:  # a torus smaller than the pad: wrapped by index
                    x = x.index_select(axis, torch.arange(-r, n + r, device=x.device) % n)
            padding = 0
        # Channels first as a view: torch's convolution reads it channels-last, without a copy.
        y = x.permute(self.first)
        weight = self.linear.weight(theta, x).reshape(self.shape)
        if d == 1:
            y = torch.nn.functional.conv1d(y, weight, padding=padding)
        elif d == 2:
            y = torch.nn.functional.conv2d(y, weight, padding=padding)
        else:
            y = torch.nn.functional.conv3d(y, weight, padding=padding)
        # Back to (batch, extents..., channels) in memory too (a no-op when torch kept the input's
        # channels-last layout): the ops that follow index the channels, slowly when strided.
        return y.permute(self.last).contiguous()


class _Pool(_Op):
    """Mean over blocks of size^d positions, or over all positions (size 0)."""

    axes: List[int]
    block_axes: List[int]

    def __init__(self, dimension, size):
        super().__init__()
        self.dimension, self.size = dimension, size
        self.axes = list(range(1, 1 + dimension))
        self.block_axes = [2 + 2 * a for a in range(dimension)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return x.mean(dim=self.axes)
        s = self.size
        shape = [x.shape[0]]
        for a in self.axes:
            e = x.shape[a]
            if e % s != 0:
                raise ValueError("pool {}: extent {} is not a multiple of {}".format(s, e, s))
            shape = shape + [e // s, s]
        y = x.reshape(shape + [x.shape[-1]])
        return y.mean(dim=self.block_axes)


# A path of a message op: copy u of its input summand sends w[first_weight + u] * B (x_u (x) e^(x)degree)
# to copy u of its output block; B is out_len x (in_len * d^degree), row-major, e's index fastest.
_MessagePath = collections.namedtuple("_MessagePath", "in_offset copies in_len out_offset out_len degree first_weight matrix")


class _Message(_Op):
    """Point clouds: y_i = [x_i ; m_i], m_i the messages of every other point of i's sample within
    the radius (docs/graph-ir.md, message): the exact paths B (x_j (x) e^(x)l), e the unit vector from
    i to j, each weighted by the radial network of the distance (Bessel functions with NequIP's
    cut-off, one hidden layer of silu units). Pairs are found sample by sample (all pairs of a
    sample: for clouds of up to thousands of points; eqnnc's interpreter and C use cells)."""

    def __init__(self, dimension, channels, radius, degree, basis_count, hidden, weights, paths):
        super().__init__()
        self.dimension, self.channels, self.radius, self.degree = dimension, channels, radius, degree
        self.basis_count, self.hidden, self.weights = basis_count, hidden, weights
        self.routes = [(p.in_offset, p.copies, p.in_len, p.out_offset, p.out_len, p.degree, p.first_weight) for p in paths]
        for k, p in enumerate(paths):
            self._table("matrix%d" % k, p.matrix, torch.float64)

    @torch.jit.unused
    def pairs(self, positions, counts):
        """(receivers, senders) of every pair of the same sample closer than the radius."""
        receivers, senders = [], []
        first = 0
        with torch.no_grad():
            for count in counts.tolist():
                if count > 1:
                    p = positions[first:first + count]
                    near = torch.cdist(p, p) < self.radius
                    near.fill_diagonal_(False)
                    i, j = torch.nonzero(near, as_tuple=True)
                    receivers.append(i + first)
                    senders.append(j + first)
                first += count
        if not receivers:
            empty = torch.zeros(0, dtype=torch.long, device=positions.device)
            return empty, empty
        return torch.cat(receivers), torch.cat(senders)

    @torch.jit.unused
    def forward(self, x, positions, counts, theta):
        tables = self._get(x)
        positions = positions.to(x.dtype)
        receivers, senders = self.pairs(positions, counts)
        difference = positions[senders] - positions[receivers]
        squares = (difference * difference).sum(dim=1)
        apart = squares > 0
        # r and e without dividing by zero where two points coincide (then e = 0, as eqnnc's).
        safe = torch.sqrt(torch.where(apart, squares, torch.ones_like(squares)))
        r = torch.where(apart, safe, torch.zeros_like(safe))
        unit = torch.where(apart[:, None], difference / safe[:, None], torch.zeros_like(difference))
        k = torch.arange(1, self.basis_count + 1, dtype=x.dtype, device=x.device)
        a = k * math.pi / self.radius
        near = r[:, None] < 1e-4 / a
        bessel = torch.where(near, a - a ** 3 * r[:, None] ** 2 / 6, torch.sin(a * r[:, None]) / safe[:, None])
        t = r / self.radius
        cutoff = torch.where(t < 1, 1 - 28 * t ** 6 + 48 * t ** 7 - 21 * t ** 8, torch.zeros_like(t))
        phi = math.sqrt(2 / self.radius) * bessel * cutoff[:, None]
        h, b, w = self.hidden, self.basis_count, self.weights
        w1, b1 = theta[:h * b].view(h, b), theta[h * b:h * b + h]
        w2, b2 = theta[h * b + h:h * b + h + w * h].view(w, h), theta[h * b + h + w * h:]
        weights = torch.nn.functional.silu(phi @ w1.t() + b1) @ w2.t() + b2
        powers = [torch.ones(r.shape[0], 1, dtype=x.dtype, device=x.device)]
        for _ in range(self.degree):
            powers.append((powers[-1][:, :, None] * unit[:, None, :]).reshape(r.shape[0], -1))
        parts = [x]
        for index, (in_offset, copies, in_len, out_offset, out_len, degree, first) in enumerate(self.routes):
            matrix = tables["matrix%d" % index].view(out_len, in_len, -1)
            f = torch.einsum("rck,ek->erc", matrix, powers[degree])
            sent = x[senders, in_offset:in_offset + copies * in_len].reshape(-1, copies, in_len)
            message = torch.einsum("erc,euc->eur", f, sent) * weights[:, first:first + copies, None]
            parts.append(torch.zeros(x.shape[0], copies * out_len, dtype=x.dtype, device=x.device)
                         .index_add(0, receivers, message.reshape(-1, copies * out_len)))
        return torch.cat(parts, dim=1)


class _PointPool(_Op):
    """The sum (or the mean) of every sample's points: one row per sample."""

    def __init__(self, sums):
        super().__init__()
        self.sums = sums

    def forward(self, x: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        sample = torch.repeat_interleave(torch.arange(counts.shape[0], device=x.device), counts)
        pooled = torch.zeros(counts.shape[0], x.shape[1], dtype=x.dtype, device=x.device).index_add(0, sample, x)
        return pooled if self.sums else pooled / counts.clamp(min=1)[:, None].to(x.dtype)


class _Parameters(torch.nn.Module):
    """One layer's slices of theta, named as in the weights file."""

    def __init__(self, sizes):
        super().__init__()
        for name, size in sizes:
            # Batchnorm's running statistics travel with theta (the weights file) but are not learned.
            learned = name != "running_statistics"
            self.register_parameter(name, torch.nn.Parameter(torch.zeros(size), requires_grad=learned))


class _Normalizer(torch.nn.Module):
    """output = net((input - input_shift) / input_scale) * output_scale + output_shift."""

    def __init__(self, input_dim, output_dim):
        super().__init__()
        self.register_buffer("input_shift", torch.zeros(input_dim))
        self.register_buffer("input_scale", torch.ones(input_dim))
        self.register_buffer("output_shift", torch.zeros(output_dim))
        self.register_buffer("output_scale", torch.ones(output_dim))


def _fit(data, layout):
    """eqnnc's normalizer rule: a scalar channel is shifted by its mean and
    scaled by its standard deviation; any other block only scaled, by its
    root-mean-square coordinate (so the group acts the same way on it)."""
    data = data.reshape(-1, data.shape[-1]).double()
    shift, scale = torch.zeros(data.shape[-1], dtype=torch.float64), torch.ones(data.shape[-1], dtype=torch.float64)
    for offset, length, is_scalar in layout:
        block = data[:, offset:offset + length]
        largest = block.abs().max() if block.numel() else torch.tensor(0.0)
        if not (largest > 0 and torch.isfinite(largest)):
            continue
        block = block / largest
        if is_scalar:
            mean = block.mean(0)
            variance = ((block - mean) ** 2).mean(0)
            shift[offset:offset + length] = mean * largest
            ok = variance > 1e-24 * torch.clamp(mean * mean, min=1e-300)
            scale[offset:offset + length] = torch.where(ok, variance.sqrt() * largest, torch.ones_like(variance))
        else:
            rms = float((block ** 2).mean().sqrt() * largest)
            scale[offset:offset + length] = rms if rms > 0 and math.isfinite(rms) else 1.0
    return shift, scale


def _read_safetensors(path):
    """(tensors as float64 CPU tensors by name, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
    (length,) = struct.unpack("<Q", raw[:8])
    if length > len(raw) - 8:
        raise ValueError(f"{path}: header length {length} runs past the end of the file")
    header = json.loads(raw[8:8 + length].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    data = raw[8 + length:]
    sizes = {"F64": ("d", 8), "F32": ("f", 4)}
    tensors = {}
    for name, info in header.items():
        if info.get("dtype") not in sizes:
            raise ValueError(f"{path}: tensor '{name}' has dtype {info.get('dtype')}; eqnnc weights are F64 or F32")
        code, width = sizes[info["dtype"]]
        begin, end = info["data_offsets"]
        count = math.prod(info["shape"])
        if end - begin != count * width or end > len(data):
            raise ValueError(f"{path}: tensor '{name}' has inconsistent offsets")
        values = struct.unpack(f"<{count}{code}", data[begin:end])
        tensors[name] = torch.tensor(values, dtype=torch.float64).reshape(info["shape"])
    return tensors, metadata


def _write_safetensors(path, tensors, metadata):
    """Writes float64 tensors (name -> tensor) with string metadata."""
    header, blobs, at = {"__metadata__": metadata}, [], 0
    for name, t in tensors:
        values = t.detach().to("cpu", torch.float64).reshape(-1).tolist()
        blob = struct.pack(f"<{len(values)}d", *values)
        header[name] = {"dtype": "F64", "shape": list(t.shape), "data_offsets": [at, at + len(blob)]}
        blobs.append(blob)
        at += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


class StepScaledAdam(torch.optim.Adam):
    """torch.optim.Adam with each coefficient's step multiplied by its step scale
    (`module.step_scales()`), as `eqnnc train` steps by default: Adam moves a
    coefficient by about lr, and a coefficient spread over nnz weights of a unit-norm
    basis matrix would move each of them by lr / sqrt(nnz) only. Build it after moving
    the module to its device; `StepScaledAdam(model, lr=3e-3)` takes Adam's options."""

    def __init__(self, module, **options):
        super().__init__([p for p in module.parameters() if p.requires_grad], **options)
        self._scales = [(p, s.to(p.device, p.dtype)) for p, s in module.step_scales() if p.requires_grad]

    @torch.no_grad()
    def step(self, closure=None):
        before = [p.detach().clone() for p, _ in self._scales]
        loss = super().step(closure)
        for (p, scale), old in zip(self._scales, before):
            p.copy_(old + (p - old) * scale)
        return loss


class _EqnnModule(torch.nn.Module):
    """What every generated network shares: parameters, the weights file and
    the normalizer. Subclasses set the class attributes below and run the op
    chain in their forward."""

    def reset_parameters(self, generator=None):
        """eqnnc's initialization (docs/graph-ir.md): N(mean, std^2) runs, biases at 0; the normalizer to identity."""
        with torch.no_grad():
            for name, _ in self.PARAMETERS:
                self.get_parameter(name).zero_()
            for name, first, count, std, mean in self.INITIAL_SCALES:
                p = self.get_parameter(name)
                draw = mean + torch.randn(count, generator=generator, dtype=torch.float64) * std
                p[first:first + count] = draw.to(p.device, p.dtype)
            for buffer in (self.normalizer.input_shift, self.normalizer.output_shift):
                buffer.zero_()
            for buffer in (self.normalizer.input_scale, self.normalizer.output_scale):
                buffer.fill_(1)

    def step_scales(self):
        """[(parameter, per-entry scale tensor)] for StepScaledAdam: the factors that make
        Adam's steps move every weight of the network alike (eqnnc train's default,
        Graph.stepScales): by lr where no basis matrices overlap, as in a plain network,
        up to 3 lr where they do."""
        scales = {}
        for name, first, count, scale in self.STEP_SCALES:
            p = self.get_parameter(name)
            s = scales.setdefault(name, torch.ones(p.shape, dtype=torch.float64))
            s[first:first + count] = scale
        return [(self.get_parameter(name), s) for name, s in scales.items()]

    def fit_normalizer(self, x, y=None):
        """Fits the normalizer on training data as `eqnnc train` does: inputs
        (batch, [extents...,] input dim), outputs likewise (None: identity, as for cross-entropy)."""
        with torch.no_grad():
            shift, scale = _fit(torch.as_tensor(x), self.INPUT_LAYOUT)
            self.normalizer.input_shift.copy_(shift)
            self.normalizer.input_scale.copy_(scale)
            if y is not None:
                shift, scale = _fit(torch.as_tensor(y), self.OUTPUT_LAYOUT)
                self.normalizer.output_shift.copy_(shift)
                self.normalizer.output_scale.copy_(scale)

    def load_safetensors(self, path):
        """Loads an eqnnc weights file; one made for another structure is refused with the reason."""
        tensors, metadata = _read_safetensors(path)
        if metadata.get("format", _WEIGHTS_FORMAT) != _WEIGHTS_FORMAT:
            raise ValueError(f"{path}: format '{metadata.get('format')}' is not an eqnnc weights file")
        found = metadata.get("structure_hash")
        if found is not None and found != self.STRUCTURE_HASH:
            raise ValueError(f"{path}: these weights were made for network '{metadata.get('network', '?')}' "
                             f"(structure {found}, representations {metadata.get('representations', '?')}), not for "
                             f"network '{self.NETWORK}' (structure {self.STRUCTURE_HASH}); train again or pick the "
                             f"matching .eqnn file")
        with torch.no_grad():
            for name, size in self.PARAMETERS:
                if name not in tensors:
                    raise ValueError(f"{path}: missing tensor '{name}'")
                t = tensors[name].reshape(-1)
                if t.numel() != size:
                    raise ValueError(f"{path}: tensor '{name}' has {t.numel()} values; network '{self.NETWORK}' needs {size}")
                if not torch.isfinite(t).all():
                    raise ValueError(f"{path}: tensor '{name}' contains NaN or infinite values")
                p = self.get_parameter(name)
                p.copy_(t.to(p.device, p.dtype))
            for tensor in _NORMALIZER_TENSORS:
                t = tensors.get(tensor)
                name = tensor.split(".", 1)[1]
                buffer = getattr(self.normalizer, name)
                if t is None:
                    buffer.fill_(1 if name.endswith("scale") else 0)
                    continue
                t = t.reshape(-1)
                if t.numel() != buffer.numel() or not torch.isfinite(t).all():
                    raise ValueError(f"{path}: tensor 'normalizer.{name}' has {t.numel()} values or non-finite ones, "
                                     f"expected {buffer.numel()} finite values")
                buffer.copy_(t.to(buffer.device, buffer.dtype))
        return self

    def save_safetensors(self, path):
        """Writes an eqnnc weights file (`eqnnc run/evaluate/--emit c --weights` read it)."""
        tensors = [(name, self.get_parameter(name)) for name, _ in self.PARAMETERS]
        tensors += [(tensor, getattr(self.normalizer, tensor.split(".", 1)[1])) for tensor in _NORMALIZER_TENSORS]
        _write_safetensors(path, tensors, {
            "format": _WEIGHTS_FORMAT, "version": _WEIGHTS_VERSION, "eqnnc_version": self.EQNNC_VERSION,
            "network": self.NETWORK, "group": self.GROUP, "structure_hash": self.STRUCTURE_HASH,
            "representations": self.REPRESENTATIONS, "parameter_count": str(self.PARAMETER_COUNT)})
"""#
}

/// Names the back ends derive from the network's.
public enum Naming {
    /// The stem of a network's generated files and C names: its snake_case, with
    /// "_net" appended where a file of that name would shadow a module or header
    /// that the generated code or its users import (`signal.py` breaks `import
    /// torch` from its folder; `math.h` shadows the C library's under `-I`).
    public static func stem(_ network: String) -> String {
        let snake = snakeCase(network)
        return reserved.contains(snake) ? snake + "_net" : snake
    }

    /// Python's standard modules (sys.stdlib_module_names, lowercase), Python's
    /// keywords, the packages PyTorch and the benchmarks import, C's standard headers
    /// and a few common system ones.
    public static let reserved: Set<String> = [
        "abc", "aifc", "and", "antigravity", "argparse", "arm_neon", "array", "as", "assert", "ast", "async",
        "asynchat", "asyncio", "asyncore", "atexit", "audioop", "await", "base64", "bdb", "binascii", "bisect",
        "break", "builtins", "bz2", "calendar", "cgi", "cgitb", "chunk", "class", "cmath", "cmd", "code", "codecs",
        "codeop", "collections", "colorsys", "compileall", "complex", "concurrent", "configparser", "contextlib",
        "contextvars", "continue", "copy", "copyreg", "crypt", "csv", "ctype", "ctypes", "curses", "dataclasses",
        "datetime", "dbm", "decimal", "def", "del", "difflib", "dis", "distutils", "dlfcn", "doctest", "e2cnn",
        "e3nn", "elif", "else", "email", "emlp", "encodings", "ensurepip", "enum", "eqnn_kernels", "errno",
        "escnn", "except", "faulthandler", "fcntl", "fenv", "filecmp", "fileinput", "filelock", "finally", "float",
        "fnmatch", "for", "fractions", "from", "fsspec", "ftplib", "functools", "gc", "genericpath", "getopt",
        "getpass", "gettext", "glob", "global", "graphlib", "grp", "gzip", "hashlib", "heapq", "hmac", "html",
        "http", "idlelib", "if", "imaplib", "imghdr", "immintrin", "imp", "import", "importlib", "in", "inspect",
        "inttypes", "io", "ipaddress", "is", "iso646", "itertools", "jinja2", "json", "keyword", "lambda",
        "lib2to3", "limits", "linecache", "locale", "logging", "lzma", "mailbox", "mailcap", "marshal", "math",
        "mimetypes", "mmap", "modulefinder", "msilib", "msvcrt", "multiprocessing", "netrc", "networkx", "nis",
        "nntplib", "nonlocal", "not", "nt", "ntpath", "nturl2path", "numbers", "numpy", "omp", "onnx",
        "onnxruntime", "opcode", "operator", "optparse", "or", "os", "ossaudiodev", "packaging", "pass", "pathlib",
        "pdb", "pickle", "pickletools", "pipes", "pkg_resources", "pkgutil", "platform", "plistlib", "poplib",
        "posix", "posixpath", "pprint", "profile", "pstats", "pthread", "pty", "pwd", "py_compile", "pyclbr",
        "pydoc", "pydoc_data", "pyexpat", "queue", "quopri", "raise", "random", "re", "readline", "reprlib",
        "resource", "return", "rlcompleter", "runpy", "sched", "secrets", "select", "selectors", "setjmp",
        "setuptools", "shelve", "shlex", "shutil", "signal", "site", "six", "smtpd", "smtplib", "sndhdr", "socket",
        "socketserver", "spwd", "sqlite3", "sre_compile", "sre_constants", "sre_parse", "ssl", "stat",
        "statistics", "stdalign", "stdarg", "stdatomic", "stdbool", "stddef", "stdint", "stdio", "stdlib",
        "stdnoreturn", "string", "stringprep", "struct", "subprocess", "sunau", "sympy", "symtable", "sys",
        "sysconfig", "syslog", "tabnanny", "tarfile", "telnetlib", "tempfile", "termios", "textwrap", "tgmath",
        "this", "threading", "threads", "time", "timeit", "tkinter", "token", "tokenize", "tomllib", "torch",
        "trace", "traceback", "tracemalloc", "try", "tty", "turtle", "turtledemo", "types", "typing",
        "typing_extensions", "uchar", "unicodedata", "unistd", "unittest", "urllib", "uu", "uuid", "venv",
        "warnings", "wave", "wchar", "wctype", "weakref", "webbrowser", "while", "winreg", "winsound", "with",
        "wsgiref", "xdrlib", "xml", "xmlrpc", "yaml", "yield", "zipapp", "zipfile", "zipimport", "zlib",
        "zoneinfo"
    ]

    /// snake_case of a network name ("CenterOfMass" -> "center_of_mass"): the
    /// stem of generated files and names, a valid C and Python identifier.
    public static func snakeCase(_ name: String) -> String {
        var out = ""
        let chars = Array(name)
        for (k, c) in chars.enumerated() {
            if c.isUppercase {
                let previous = k > 0 ? chars[k - 1] : " "
                let next = k + 1 < chars.count ? chars[k + 1] : " "
                if k > 0 && (previous.isLowercase || previous.isNumber || (previous.isUppercase && next.isLowercase)) { out += "_" }
                out += c.lowercased()
            } else if c.isLetter || c.isNumber {
                out.append(c)
            } else {
                out += "_"
            }
        }
        if let first = out.first, first.isNumber { out = "n_" + out }
        // Every generated name is this prefix plus "_..."; C reserves names that begin with "_".
        var collapsed = ""
        for c in out where !(c == "_" && collapsed.last == "_") { collapsed.append(c) }
        out = collapsed
        if out.isEmpty || out == "_" { return "network" }
        if out.hasPrefix("_") { out = "n" + out }
        return out
    }
}

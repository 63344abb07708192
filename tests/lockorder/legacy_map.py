"""Map a file, write through the mapping, msync, grow it (mremap), unmap,
read back through the descriptor; keep one mapping at exit.  Run by
check_legacy_preload.sh natively, under the fixed design and under
locking=legacy: the output must be the same each time."""
import mmap
import os
import sys

path = os.path.join(sys.argv[1], "legacy_map")
with open(path, "wb+") as f:
    f.write(b"x" * 8192)
    f.flush()
    m = mmap.mmap(f.fileno(), 8192)
    m[0:5] = b"hello"
    m.flush()                       # msync
    m.resize(16384)                 # ftruncate, then mremap grows the mapping
    m[12288:12293] = b"world"
    m.close()                       # munmap
    f.seek(0)
    a = f.read(5)
    f.seek(12288)
    b = f.read(5)
    keep = mmap.mmap(f.fileno(), 4096)  # still mapped when the process exits
print("read back", a.decode(), b.decode(), os.path.getsize(path))

#!/usr/bin/env bash
# Assembles the runtime layer of the AgentRouter images without pulling any base image:
# a jlink'ed JRE from the build JDK at /opt/java, the few glibc shared libraries that JRE
# loads (found with ldd, copied from the build machine), an /etc/passwd naming the non-root
# user, and empty /tmp and data directories. Jib then adds this tree on top of `scratch`.
#
# usage: assemble-runtime.sh <jdk home> <output dir> <comma-separated JRE modules>
set -euo pipefail

jdk=${1:?jdk home}
out=${2:?output dir}
modules=${3:?jre modules}

[ -x "$jdk/bin/jlink" ] || { echo "assemble-runtime: $jdk/bin/jlink not found (expected: a full JDK >= 21)" >&2; exit 1; }
command -v ldd >/dev/null || { echo "assemble-runtime: ldd not found (expected: a glibc Linux build machine)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/opt" "$out/etc" "$out/tmp" "$out/var/lib/agentrouter" "$out/app"

# The JRE: only the modules the planes use, no man pages or headers, debug symbols stripped,
# and a class-data-sharing archive so both the planes and the health-check probe start fast.
"$jdk/bin/jlink" --add-modules "$modules" --output "$out/opt/java" \
  --strip-debug --no-header-files --no-man-pages --compress=zip-6 --generate-cds-archive

# Every shared library the JRE's binaries and native libraries load that is not part of the
# JRE itself: glibc (libc, libm, libdl, libpthread, librt), the dynamic loader, and whatever
# else this build machine's JDK links against (zlib when the JDK uses the system one).
libs=$(find "$out/opt/java" -type f \( -name '*.so' -o -path '*/bin/*' \) -print0 \
  | xargs -0 ldd 2>/dev/null \
  | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]*ld-linux/{print $1}' \
  | grep -v "^$out" | sort -u)
for lib in $libs; do
  # Keep the path the binaries ask for (the loader at /lib64/…, the rest by soname), and copy
  # the file behind any symlink: image layers made by Jib hold regular files only.
  mkdir -p "$out$(dirname "$lib")"
  cp -L "$lib" "$out$lib"
done

# Java resolves the user name of its uid at start; give the non-root user a name and a home.
cat > "$out/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/sbin/nologin
agentrouter:x:65532:65532:agentrouter:/var/lib/agentrouter:/sbin/nologin
PASSWD
cat > "$out/etc/group" <<GROUP
root:x:0:
agentrouter:x:65532:
GROUP
# Name resolution: files first (the orchestrator writes /etc/hosts), then DNS.
echo 'hosts: files dns' > "$out/etc/nsswitch.conf"

echo "assemble-runtime: JRE ($modules) and $(echo "$libs" | wc -w) system libraries in $out"

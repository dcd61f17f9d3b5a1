package runtime

import (
	"strings"
	"testing"
)

// A driver that says hello twice while an upload is half done leaves no
// partial file (and no open descriptor) behind once its session ends.
func TestSecondHelloDropsTheFirstUpload(t *testing.T) {
	pkgDir := t.TempDir()
	n, _ := startNode(t, NodeConfig{PrestartWorkers: -1, PackageCacheDir: pkgDir})
	good, sum := testPackage(t, "good")
	s, _ := uploadSession(n, nil)
	str2, data := driverHello{Dir: "/elsewhere", Pkg: sum, UploadPkg: true}.encode()
	hello := &msg{t: mHello, str: protocolMagic, n: ProtocolVersion, str2: str2, data: data}
	n.handle(s, hello)
	n.handle(s, &msg{t: mBinary, n: uploadPackage, str: sum, data: good[:10], req: 1})
	if len(dirEntries(t, pkgDir)) == 0 {
		t.Fatal("the first chunk was not written to a file")
	}
	n.handle(s, hello) // again, mid-upload
	n.sessionClosed(s)
	if ents := dirEntries(t, pkgDir); len(ents) != 0 {
		t.Fatalf("after the session closed the package store holds %v", ents)
	}
}

// A chunk of a kind the node does not know is refused, not taken for the
// program.
func TestUnknownUploadKindIsRefused(t *testing.T) {
	binDir := t.TempDir()
	n, _ := startNode(t, NodeConfig{PrestartWorkers: -1, BinaryCacheDir: binDir})
	_, sum := testPackage(t, "x")
	s, replies := uploadSession(n, &binUpload{sum: sum})
	n.handle(s, &msg{t: mBinary, n: 7, str: sum, data: []byte("abc"), req: 1})
	if len(*replies) != 1 || (*replies)[0].err == nil || !strings.Contains((*replies)[0].err.Message, "unknown content kind 7") {
		t.Fatalf("replies %+v, want one refusing kind 7", *replies)
	}
	n.sessionClosed(s)
	if ents := dirEntries(t, binDir); len(ents) != 0 {
		t.Fatalf("the binary cache holds %v", ents)
	}
}

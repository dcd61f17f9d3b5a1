// Package pkgstore is a node's content-addressed store of working-dir
// packages.
//
// A job's working_dir travels as one gzipped tar whose bytes depend only on
// the tree (Pack), named by its sha256. Every node that runs the job's
// driver or any of its tasks and actors needs the tree unpacked on its own
// disk: the job's daemon receives it from `goray submit` (or from a driver
// that connects over TCP with GORAY_WORKING_DIR set), and a peer that is
// sent one of the job's tasks fetches it from the sender. All go through
// Store.Put or Store.NewUpload and Commit, which refuse bytes that do not
// hash to the name they came under, so a package can be trusted by its
// name alone.
//
// Receiving streams: an Incoming writes each piece to a temporary file in
// the store's directory while hashing it and renames it into place only
// once verified, so a node holds one piece of an upload in memory, never
// the archive, and a refused upload leaves nothing behind. The node's
// binary cache receives uploaded programs the same way.
//
// Layout under Store.Dir:
//
//	<sha256>/       the unpacked tree (workers' current directory)
//	<sha256>.tgz    the archive itself, kept so that this node can serve
//	                the package to the next peer without re-packing (a
//	                re-packed tree would hash differently once a driver
//	                writes into its working dir)
//
// Both appear atomically (rename), so concurrent stores of the same package
// by the job API and the cluster engine are harmless.
package pkgstore

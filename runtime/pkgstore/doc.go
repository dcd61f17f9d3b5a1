// Package pkgstore is a node's content-addressed store of working-dir
// packages.
//
// A job's working_dir travels as one gzipped tar whose bytes depend only on
// the tree (see jobs.PackDir), named by its sha256. Every node that runs
// the job's driver or any of its tasks and actors needs the tree unpacked
// on its own disk: the job's daemon receives it from `goray submit`, and a
// peer that is sent one of the job's tasks fetches it from the sender. Both
// go through Store.Put, which refuses bytes that do not hash to the name
// they came under, so a package can be trusted by its name alone.
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

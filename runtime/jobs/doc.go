// Package jobs runs goray jobs: the job file (`goray submit job.toml`), the
// job lifecycle, driver processes and their logs, and the HTTP job API.
//
// A job file names one driver: a Go package that is built on submit, a
// prebuilt binary, a shell command, or a library table ([rllib] or [tune])
// that needs no code at all. The file is decoded strictly: a syntax error, a
// wrong type or an unknown key is an error with file:line:column and the
// key, reported before anything starts.
//
// Every job's driver is a child process of the node that runs the job. It
// finds the cluster through GORAY_ADDRESS, so a driver that runs on a laptop
// and one that runs in a daemon behave the same. The Manager owns those
// processes: it starts each in its own process group with Pdeathsig, records
// the job's state transitions (PENDING → RUNNING → SUCCEEDED | FAILED |
// STOPPED, as in Ray) in the data directory together with the driver's log,
// and kills the whole group on Stop; a package still being built is killed
// with its compiler processes, so Stop never waits for a build. Records and
// logs survive a restart of the daemon; a job that was running when its
// daemon died is marked FAILED on the next start, because its driver died
// with the daemon.
//
// A job's working_dir is where its driver runs, and the driver passes it on
// (GORAY_WORKING_DIR, GORAY_WORKING_DIR_PACKAGE) so that the node starts
// the driver's workers there too. Submitted to a cluster, the dir travels
// as a content-addressed package (PackDir) kept in the daemon's package
// store (runtime/pkgstore), from which other nodes fetch it when they run
// the job's tasks.
//
// A driver's [resources] are Ray's entrypoint resources (resources.go): a
// request no live node has in total is refused at submit, naming the
// field, before anything is recorded; a feasible driver holds its
// resources on its node through a ResourceHolder (the daemon's node, or
// the embedded one) while it runs, and its job stays PENDING, saying what
// it waits for, until they are free.
//
// Library jobs are run by the goray binaries themselves: the Manager
// re-executes its own executable with GORAY_JOB_DRIVER set, and
// RunLibraryDriver, called early in main, decodes the job's library table and
// hands it to the library registered under that table's name.
package jobs

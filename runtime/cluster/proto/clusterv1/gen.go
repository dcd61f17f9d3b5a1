// Package clusterv1 is the generated Go code for the goray.cluster.v1
// daemon-to-daemon protocol (cluster.proto). The generated files are
// committed so that building goray needs no protoc.
package clusterv1

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative cluster.proto

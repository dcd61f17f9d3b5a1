// Package envv1 is the generated Go code of the goray.env.v1 protocol
// (env.proto) spoken between goray hosts and env plugins.
package envv1

//go:generate sh -c "PATH=$PATH:$HOME/go/bin protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative env.proto"

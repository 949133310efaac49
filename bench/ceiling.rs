//! The benchmark ceiling: a bare hyper server that reads each body and answers 200, with no
//! storage, rendering or checks. `bench/listen.sh` compares `hookcli listen` against it.

fn main() {}

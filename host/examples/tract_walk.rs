use tract_onnx::prelude::*;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let m = tract_onnx::onnx().model_for_read(&mut &bytes[..]).unwrap();
    let typed = m.into_typed().unwrap().into_decluttered().unwrap();
    for id in typed.eval_order().unwrap() {
        let n = typed.node(id);
        let ins: Vec<String> = n
            .inputs
            .iter()
            .map(|i| format!("{:?}", typed.outlet_fact(*i).unwrap()))
            .collect();
        let outs: Vec<String> = n.outputs.iter().map(|o| format!("{:?}", o.fact)).collect();
        println!("{} [{}] in {:?} out {:?}", n.op.name(), n.name, ins, outs);
    }
}

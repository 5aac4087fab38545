//! The addresses of named symbols in an ELF32 file (the firmware), without a dependency.

/// The value of every symbol in `names`, in order, from the ELF32 little-endian `bytes`.
pub fn symbols(bytes: &[u8], names: &[&str]) -> Result<Vec<u32>, String> {
    let u16_at = |at: usize| -> Result<u16, String> {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated ELF file".to_string())
    };
    let u32_at = |at: usize| -> Result<u32, String> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| "truncated ELF file".to_string())
    };
    if bytes.get(..6) != Some(b"\x7fELF\x01\x01".as_slice()) {
        return Err("not a 32-bit little-endian ELF file".into());
    }
    let (shoff, shentsize, shnum) = (
        u32_at(32)? as usize,
        u16_at(46)? as usize,
        u16_at(48)? as usize,
    );
    let section = |i: usize| shoff + i * shentsize;
    let symtab = (0..shnum)
        .find(|&i| u32_at(section(i) + 4) == Ok(2))
        .ok_or("the ELF file has no symbol table")?;
    let (offset, size, link) = (
        u32_at(section(symtab) + 16)? as usize,
        u32_at(section(symtab) + 20)? as usize,
        u32_at(section(symtab) + 24)? as usize,
    );
    let strtab = u32_at(section(link) + 16)? as usize;
    let name_at = |at: usize| -> &[u8] {
        let s = bytes.get(at..).unwrap_or(&[]);
        &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())]
    };
    let mut found = vec![None; names.len()];
    for sym in (offset..offset + size).step_by(16) {
        let name = name_at(strtab + u32_at(sym)? as usize);
        if let Some(k) = names.iter().position(|n| n.as_bytes() == name) {
            found[k] = Some(u32_at(sym + 4)?);
        }
    }
    names
        .iter()
        .zip(found)
        .map(|(n, v)| v.ok_or_else(|| format!("the firmware has no symbol {n}")))
        .collect()
}

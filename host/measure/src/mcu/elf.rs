//! The addresses of named symbols in an ELF32 file (the firmware), without a dependency.

/// Why [`symbols`] found no value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// Not an ELF file of the Cortex-M's class and byte order.
    #[error("not a 32-bit little-endian ELF file")]
    NotElf32,
    /// A header or table reaches past the file's end.
    #[error("truncated ELF file")]
    Truncated,
    /// No `SHT_SYMTAB` section (a stripped file).
    #[error("the ELF file has no symbol table")]
    NoSymbolTable,
    /// A name not in the symbol table.
    #[error("the firmware has no symbol {0}")]
    NoSymbol(String),
}

/// The value of every symbol in `names`, in order, from the ELF32 little-endian `bytes`.
pub fn symbols(bytes: &[u8], names: &[&str]) -> Result<Vec<u32>, ElfError> {
    let u16_at = |at: usize| -> Result<u16, ElfError> {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or(ElfError::Truncated)
    };
    let u32_at = |at: usize| -> Result<u32, ElfError> {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or(ElfError::Truncated)
    };
    if bytes.get(..6) != Some(b"\x7fELF\x01\x01".as_slice()) {
        return Err(ElfError::NotElf32);
    }
    let (shoff, shentsize, shnum) = (
        u32_at(32)? as usize,
        u16_at(46)? as usize,
        u16_at(48)? as usize,
    );
    let section = |i: usize| shoff + i * shentsize;
    let symtab = (0..shnum)
        .find(|&i| u32_at(section(i) + 4) == Ok(2))
        .ok_or(ElfError::NoSymbolTable)?;
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
        .map(|(n, v)| v.ok_or_else(|| ElfError::NoSymbol(n.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_whole_elf32_is_named_so() {
        assert_eq!(symbols(b"MZ\x90\x00", &["a"]), Err(ElfError::NotElf32));
        let mut header = b"\x7fELF\x01\x01".to_vec();
        header.resize(40, 0);
        assert_eq!(symbols(&header, &["a"]), Err(ElfError::Truncated));
        // A whole header whose section table has no symbol table.
        header.resize(52, 0);
        assert_eq!(symbols(&header, &["a"]), Err(ElfError::NoSymbolTable));
    }
}

//! JOIN and LEAVE: a DISH's group membership, sent to its RADIO (RFC 37, "The Radio-Dish Pattern").

use bytes::Bytes;

use crate::codec::Reader;
use crate::error::{Malformed, UsageError};

/// RFC 37: `group = 0*255group-char`.
pub const MAX_GROUP_LEN: usize = 255;

/// Checks a group a caller wants to join or leave.
pub fn check_group(group: &[u8]) -> Result<(), UsageError> {
    if group.len() > MAX_GROUP_LEN {
        return Err(UsageError::GroupTooLong { len: group.len() });
    }
    Ok(())
}

/// Reads the group, which is the whole command data.
pub(crate) fn decode(r: &mut Reader) -> Result<Bytes, Malformed> {
    if r.remaining() > MAX_GROUP_LEN {
        return Err(Malformed::GroupTooLong);
    }
    Ok(r.rest())
}

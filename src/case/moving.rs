//! Moving a statement to another desk: everything sealed to the old desk
//! is sealed anew to the new one (files included), the record is replaced
//! only if nobody changed it meanwhile, and then the old copies go. The
//! mover must be a member of both desks. The store's change feed tells the
//! index to drop the statement from the old desk and show it on the new.

use crate::audit::Event;
use crate::crypto::{self, DeskIdentity, Recipient, Sealed, SealingWriter};
use crate::i18n::Message;
use crate::storage::{DeskId, ObjectId, StatementRecords, SubmissionRecord};

use super::{Authorized, CaseError, Cases, entry_by, failed};

fn reseal(sealed: &Sealed, old: &DeskIdentity, to: &[&Recipient]) -> Result<Sealed, CaseError> {
    let plain = crypto::open(sealed.as_bytes(), old).map_err(failed)?;
    Ok(crypto::seal_to(plain.as_bytes(), to)?)
}

impl Cases {
    /// Moves the statement to `target`. `Ok(false)`: it is already there.
    pub fn move_to_desk(&self, statement: &Authorized, target: &DeskId) -> Result<bool, CaseError> {
        let mut record = statement.record.clone();
        if record.state.is_final() {
            return Err(CaseError::Refused(Message::new("case-withdrawn")));
        }
        if *target == record.desk {
            return Ok(false);
        }
        let desk = self.store.desk(target)?.ok_or_else(|| CaseError::Refused(Message::new("case-choose-desk")))?;
        let current = desk.current_key().ok_or_else(|| CaseError::Refused(Message::new("case-desk-without-key")))?;
        if statement.reader.desk_key(target, current.generation).is_none() {
            return Err(CaseError::Refused(Message::new("case-move-members-only")));
        }
        let entry = entry_by(&statement.reader, Event::MovedToDesk { desk: target.0.clone() }, statement.id());
        self.audit_first(vec![entry.clone()])?;

        let (generation, new_recipient) = (current.generation, current.recipient.clone());
        let original_version = record.version;
        let mut fresh_objects: Vec<ObjectId> = Vec::new();
        let resealed = (|| -> Result<Vec<ObjectId>, CaseError> {
            let recovery = self.store.server()?.recovery_recipient;
            let desk_only = [&new_recipient, &recovery];
            let with_witness = [&new_recipient, &recovery, &record.witness_recipient];
            let old = statement.key.as_ref();
            record.statement = record.statement.as_ref().map(|s| reseal(s, old, &desk_only)).transpose()?;
            record.identity = record.identity.as_ref().map(|s| reseal(s, old, &desk_only)).transpose()?;
            record.triage = record.triage.as_ref().map(|s| reseal(s, old, &desk_only)).transpose()?;
            record.manifest = record.manifest.as_ref().map(|s| reseal(s, old, &with_witness)).transpose()?;
            record.additions =
                record.additions.iter().map(|s| reseal(s, old, &with_witness)).collect::<Result<_, _>>()?;
            record.consent = record.consent.iter().map(|s| reseal(s, old, &with_witness)).collect::<Result<_, _>>()?;
            for item in &mut record.thread {
                item.message = reseal(&item.message, old, &with_witness)?;
            }
            let mut retired = Vec::new();
            for file in &mut record.files {
                let mut objects = vec![&mut file.object];
                if let Some(cleaned) = file.cleaned.as_mut() {
                    objects.push(cleaned);
                }
                for object in objects {
                    let sealed = self.store.objects().read(object)?;
                    let mut plain = crypto::open_stream(sealed, old).map_err(failed)?;
                    let pending = self.store.objects().create()?;
                    let mut writer = SealingWriter::new(pending, &desk_only)?;
                    std::io::copy(&mut plain, &mut writer).map_err(failed)?;
                    let fresh = self.store.objects().commit(writer.finish().map_err(failed)?)?;
                    fresh_objects.push(fresh.clone());
                    retired.push(std::mem::replace(object, fresh));
                }
            }
            record.desk = target.clone();
            record.key_generation = generation;
            let moved: SubmissionRecord = record.clone();
            self.store
                .modify_submission(statement.id(), &[], &mut |fresh| {
                    // Replaced only if nobody changed it while it was resealed.
                    if fresh.version != original_version {
                        return Err(Message::new("case-changed-while-moving").into());
                    }
                    let version = fresh.version;
                    *fresh = moved.clone();
                    fresh.version = version;
                    Ok(())
                })
                .map_err(CaseError::from)?;
            Ok(retired)
        })();
        match resealed {
            Ok(retired) => {
                for object in retired {
                    if let Err(e) = self.store.objects().remove(&object) {
                        tracing::error!(error = %e, "could not remove a file sealed to the old desk");
                    }
                }
                Ok(true)
            }
            Err(e) => {
                // The new copies are not named by any record: drop them.
                for object in fresh_objects {
                    let _ = self.store.objects().remove(&object);
                }
                self.audit_failed(vec![entry]);
                Err(e)
            }
        }
    }
}

//! Moving a statement to another desk: everything sealed to the old desk
//! is sealed anew to the new one (files included), the record is replaced
//! only if nobody changed it meanwhile, and then the old copies go. The
//! mover must be a member of both desks. The store's change feed tells the
//! index to drop the statement from the old desk and show it on the new.

use crate::audit::Event;
use crate::crypto::{self, DeskIdentity, Recipient, Sealed, SealingWriter};
use crate::i18n::Message;
use crate::storage::{DeskId, Finish, ObjectId, StatementRecords, SubmissionRecord};

use super::{Authorized, CaseError, Cases, Plan, entry_by, failed};

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
        // Every file's new copy gets its id now, so that whatever a crash
        // interrupts, the copies on one side or the other can be removed.
        let retired: Vec<ObjectId> =
            record.files.iter().flat_map(|f| std::iter::once(&f.object).chain(f.cleaned.as_ref())).cloned().collect();
        let fresh_ids: Vec<ObjectId> = retired.iter().map(|_| ObjectId(crypto::random_hex_id())).collect();
        let begun = self.begin(statement.id(), std::slice::from_ref(&entry), fresh_ids.clone(), retired)?;

        let (generation, new_recipient) = (current.generation, current.recipient.clone());
        let original_version = record.version;
        let mut next_id = fresh_ids.iter().cloned();
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
                    let id = next_id.next().ok_or_else(|| failed("more files than when the move began"))?;
                    let pending = self.store.objects().create_as(id)?;
                    let mut writer = SealingWriter::new(pending, &desk_only)?;
                    std::io::copy(&mut plain, &mut writer).map_err(failed)?;
                    let fresh = self.store.objects().commit(writer.finish().map_err(failed)?)?;
                    retired.push(std::mem::replace(object, fresh));
                }
            }
            record.desk = target.clone();
            record.key_generation = generation;
            let moved: SubmissionRecord = record.clone();
            // Once the record names the new copies, what is left to do
            // (after a crash too) is removing the old ones.
            let left = (!retired.is_empty()).then(|| super::encode_plan(&Plan { stored: true, ..begun.plan.clone() }));
            let finish = Finish { key: &begun.key, then: left.as_deref() };
            self.store
                .modify_submission_begun(statement.id(), finish, &mut |fresh| {
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
                // Without files the change ended with the record's.
                let mut removed = !retired.is_empty();
                for object in retired {
                    if let Err(e) = self.store.objects().remove(&object) {
                        tracing::error!(error = %e, "could not remove a file sealed to the old desk");
                        removed = false;
                    }
                }
                // A failed removal is left for the next start to finish.
                if removed {
                    self.end(&begun);
                }
                Ok(true)
            }
            Err(e) => {
                // The new copies are not named by any record: drop them.
                for object in &fresh_ids {
                    let _ = self.store.objects().remove_if_present(object);
                }
                self.audit_failed(vec![entry]);
                self.end(&begun);
                Err(e)
            }
        }
    }
}

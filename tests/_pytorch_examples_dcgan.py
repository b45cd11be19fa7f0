"""Test fixture: the Generator and Discriminator of pytorch/examples ``dcgan/main.py``, unmodified.

The classes are the one copy the repository keeps, in :func:`latentlab.convert.pytorch_examples_dcgan`
(source: https://github.com/pytorch/examples/blob/77f55b912142e11fcfdf5b530231fb9c52f181e8/dcgan/main.py,
BSD 3-Clause, Copyright (c) 2017, Pytorch contributors; the licence text is in that module's source).
:func:`build` adds the script's ``weights_init`` (verbatim below), as the script does before training.
"""
import torch

from latentlab.convert import pytorch_examples_dcgan


# ---- verbatim from pytorch/examples dcgan/main.py ------------------------------------------------

# custom weights initialization called on netG and netD
def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)

# --------------------------------------------------------------------------------------------------


def build(nz_=100, ngf_=64, ndf_=64, nc_=3, ngpu=1):
    """(netG, netD) as the script builds them (``weights_init`` applied), with these sizes."""
    netG, netD = pytorch_examples_dcgan(nz_, ngf_, ndf_, nc_, ngpu)
    netG.apply(weights_init)
    netD.apply(weights_init)
    return netG, netD
